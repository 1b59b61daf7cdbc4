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
    z[1] -= 0.5 * k2l * (u ** 2 - w ** 2 + beam_sig[0] ** 2 - beam_sig[1] ** 2)
    z[3] += k2l * u * w
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


def _machine_betas(jac):
    """Beta functions from the diagonal 2x2 blocks of a (weakly coupled) one-turn matrix."""
    out = []
    for i in (0, 2):
        m = jac[i:i + 2, i:i + 2]
        cos_mu = 0.5 * np.trace(m)
        sin_mu = np.sign(m[0, 1]) * np.sqrt(max(1 - cos_mu ** 2, 1e-300))
        out.append(m[0, 1] / sin_mu)
    return out


def _linear_optics(ring, node_name=None):
    """Uncoupled optics of the ring with the sextupoles off, at a node (or the ring start)."""
    plain = replace(ring, k2l=np.zeros_like(ring.k2l), _cache={})
    nodes, _ = _segments(plain, False)
    start = 0 if node_name is None else [nd[2] for nd in nodes].index(node_name)
    _, jac, _ = _one_turn(plain, np.zeros((6, 1)), False, {}, {}, start)
    out = {}
    for plane, i in (("x", 0), ("y", 2)):
        m = jac[i:i + 2, i:i + 2]
        cos_mu = 0.5 * np.trace(m)
        if abs(cos_mu) >= 1:
            raise UnstableLatticeError(2 * cos_mu, plane)
        sin_mu = np.sign(m[0, 1]) * np.sqrt(1 - cos_mu ** 2)
        out[f"beta_{plane}_m"] = m[0, 1] / sin_mu
        out[f"q_{plane}"] = (np.arctan2(sin_mu, cos_mu) / _TWO_PI) % 1.0
    # dispersion from the 4D map with a delta column: (I - M) D = M[:, 5]
    d = np.linalg.solve(np.eye(2) - jac[:2, :2], jac[:2, 5])
    out["dispersion_x_m"] = d[0]
    # momentum compaction: path length -sum(angle x_D) over the turn
    x = np.array([d[0], d[1], 0, 0, 0, 1.0])
    zeta = 0.0
    walk = ring.elements
    if node_name is not None:
        names = [e[1] for e in walk]
        k = names.index(node_name)
        walk = walk[k:] + walk[:k]
    z = x.copy()
    for kind, _, val in walk:
        m = _element_matrix(kind, val, plain, False)
        z = m @ z
    zeta = z[4]
    out["alpha_c"] = -zeta / plain.circumference_m
    out["circumference_m"] = plain.circumference_m
    return out
