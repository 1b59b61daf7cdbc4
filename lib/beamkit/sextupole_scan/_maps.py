"""The thin-element ring's engine: linear 6x6 maps between the nonlinear nodes (sextupoles and
BPM correctors), the node kicks, one-turn tracking with its Jacobian, the Newton closed orbit,
tunes, beta functions and the linear optics with the sextupoles off."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..errors import ConvergenceError, UnstableLatticeError

_TWO_PI = 2.0 * np.pi


def _element_matrix(kind, val, ring, six_d):
    m = np.eye(6)
    if kind == "drift":
        m[0, 1] = m[2, 3] = val
    elif kind == "quadrupole":
        m[1, 0] = -val
        m[3, 2] = val
    elif kind == "dipole":
        m[1, 5] = val
        m[4, 0] = -val
    elif kind == "cavity" and six_d:
        m[5, 4] = ring.rf_kappa_per_m
    return m


def _segments(ring, six_d):
    """Linear maps between nodes: ([(node kind, index, name)], [6x6 maps after each node])."""
    key = ("segments", six_d)
    if key in ring._cache:
        return ring._cache[key]
    nodes, maps = [], []
    current = np.eye(6)
    pre = np.eye(6)  # map from the ring start to the first node
    for kind, name, val in ring.elements:
        if kind in ("sextupole", "bpm"):
            if nodes:
                maps.append(current)
            else:
                pre = current
            nodes.append((kind, val, name))
            current = np.eye(6)
        else:
            current = _element_matrix(kind, val, ring, six_d) @ current
    # wrap: after the last node, go round to the first one
    maps.append(pre @ current)
    ring._cache[key] = (nodes, maps)
    return nodes, maps


def _sextupoles_off(ring):
    """A copy of ``ring`` with every sextupole off (and a cache of its own)."""
    return replace(ring, k2l=np.zeros_like(ring.k2l), _cache={})


def _sextupole_node(nodes, sextupole):
    """Position of sextupole number ``sextupole`` in the node list of :func:`_segments`."""
    return next(i for i, nd in enumerate(nodes) if nd[0] == "sextupole" and nd[1] == sextupole)


def _sextupole_kick(k2l, u, w, sigma_x_m=0.0, sigma_y_m=0.0):
    """Kick (dpx, dpy) of a thin sextupole at offsets (u, w) from its centre (m), in rad.

    With beam sizes, the beam-averaged kick: the dipole term -k2l (sigma_x^2 - sigma_y^2)/2
    is added to dpx.
    """
    return -0.5 * k2l * (u ** 2 - w ** 2 + sigma_x_m ** 2 - sigma_y_m ** 2), k2l * u * w


def _node_kick(ring, node, z, kicks, sext_override):
    """Apply a node to states z (6, n) in place; return the 6x6 Jacobian for z[:, 0]."""
    kind, idx, _ = node
    jac = np.eye(6)
    if kind == "bpm":
        kx, ky = kicks.get(node[2], (0.0, 0.0))
        z[1] += kx
        z[3] += ky
        return jac
    k2l, sx, sy = ring.k2l[idx] * ring.calibration[idx], ring.shift_x_m[idx], ring.shift_y_m[idx]
    beam_sig = (ring.sigma_x_m, ring.sigma_y_m)
    if idx in sext_override:
        k2l = sext_override[idx]
    u = z[0] - sx
    w = z[2] - sy
    jac[1, 0], jac[1, 2] = -k2l * u[0], k2l * w[0]
    jac[3, 0], jac[3, 2] = k2l * w[0], k2l * u[0]
    dpx, dpy = _sextupole_kick(k2l, u, w, *beam_sig)
    z[1] += dpx
    z[3] += dpy
    return jac


def _one_turn(ring, z0, six_d, kicks, sext_override, start, record=False):
    """Track states z0 (6, n) one turn from node ``start``; return (z, jacobian, records)."""
    nodes, maps = _segments(ring, six_d)
    n = len(nodes)
    z = np.array(z0, dtype=float)
    jac = np.eye(6)
    records = []
    for step in range(n):
        j = (start + step) % n
        if record:
            records.append(z[:, 0].copy())
        kjac = _node_kick(ring, nodes[j], z, kicks, sext_override)
        z = maps[j] @ z
        jac = maps[j] @ kjac @ jac
    if not six_d:
        z[4:] = z0[4:]
    return z, jac, records


def _solve_orbit(ring, six_d, kicks=None, sext_override=None, start=0, tol=1e-15, max_iter=40):
    kicks = kicks or {}
    sext_override = sext_override or {}
    dims = slice(0, 6) if six_d else slice(0, 4)
    z = np.zeros((6, 1))
    for _ in range(max_iter):
        z1, jac, _ = _one_turn(ring, z, six_d, kicks, sext_override, start)
        res = (z1 - z)[dims, 0]
        a = jac[dims, dims] - np.eye(6)[dims, dims]
        step = np.linalg.solve(a, -res)
        z[dims, 0] += step
        if np.max(np.abs(step)) < tol or np.max(np.abs(res)) < tol:
            _, jac, rec = _one_turn(ring, z, six_d, kicks, sext_override, start, record=True)
            return z[:, 0], jac, np.array(rec)
    raise ConvergenceError("closed-orbit Newton iteration", float(np.max(np.abs(res))),
                           "lower the sextupole strengths or offsets")


def _tunes(jac4):
    """Fractional tunes (q_x, q_y) of a (weakly coupled) 4x4 one-turn matrix."""
    vals, vecs = np.linalg.eig(jac4)
    if np.any(np.abs(np.abs(vals) - 1.0) > 1e-6):
        raise UnstableLatticeError(float(np.max(np.abs(vals))) + 1.0, None, "one-turn map not symplectic-"
                                   "stable at this sextupole setting")
    out = {}
    for k in range(4):
        p = 0 if np.sum(np.abs(vecs[:2, k]) ** 2) > np.sum(np.abs(vecs[2:, k]) ** 2) else 2
        # of each conjugate pair keep the eigenvalue with Im(v_p' / v_p) > 0 (beta > 0)
        if (vecs[p + 1, k] / vecs[p, k]).imag <= 0:
            continue
        out["x" if p == 0 else "y"] = (np.angle(vals[k]) / _TWO_PI) % 1.0
    if len(out) != 2:
        raise UnstableLatticeError(2.0, None, "could not separate the two planes (full coupling)")
    return out["x"], out["y"]


def _block_twiss(m):
    """(cos mu, sin mu, beta in m) of one plane's 2x2 block of a (weakly coupled) one-turn matrix.

    Only meaningful for |cos mu| < 1: callers check stability first.
    """
    cos_mu = 0.5 * np.trace(m)
    sin_mu = np.sign(m[0, 1]) * np.sqrt(max(1 - cos_mu ** 2, 1e-300))
    return cos_mu, sin_mu, m[0, 1] / sin_mu


def _machine_betas(jac):
    """Beta functions from the diagonal 2x2 blocks of a (weakly coupled) one-turn matrix."""
    return [_block_twiss(jac[i:i + 2, i:i + 2])[2] for i in (0, 2)]


def _periodic_dispersion(jac):
    """(D in m, D') from a 4D one-turn map with a delta column: (I - M) D = M[:, 5]."""
    return np.linalg.solve(np.eye(2) - jac[:2, :2], jac[:2, 5])


def _plain_one_turn(ring, node_name=None):
    """The ring with the sextupoles off and its 6x6 one-turn matrix at a node (or the first node)."""
    plain = _sextupoles_off(ring)
    nodes, _ = _segments(plain, False)
    start = 0 if node_name is None else [nd[2] for nd in nodes].index(node_name)
    _, jac, _ = _one_turn(plain, np.zeros((6, 1)), False, {}, {}, start)
    return plain, jac


def _linear_optics(ring, node_name=None):
    """Uncoupled optics of the ring with the sextupoles off, at a node (or the ring start)."""
    plain, jac = _plain_one_turn(ring, node_name)
    out = {}
    for plane, i in (("x", 0), ("y", 2)):
        cos_mu, sin_mu, beta = _block_twiss(jac[i:i + 2, i:i + 2])
        if abs(cos_mu) >= 1:
            raise UnstableLatticeError(2 * cos_mu, plane)
        out[f"beta_{plane}_m"] = beta
        out[f"q_{plane}"] = (np.arctan2(sin_mu, cos_mu) / _TWO_PI) % 1.0
    d = _periodic_dispersion(jac)
    out["dispersion_x_m"] = d[0]
    # momentum compaction: path length -sum(angle x_D) over the turn
    walk = ring.elements
    if node_name is not None:
        names = [e[1] for e in walk]
        k = names.index(node_name)
        walk = walk[k:] + walk[:k]
    z = np.array([d[0], d[1], 0, 0, 0, 1.0])
    for kind, _, val in walk:
        z = _element_matrix(kind, val, plain, False) @ z
    out["alpha_c"] = -z[4] / plain.circumference_m
    out["circumference_m"] = plain.circumference_m
    return out
