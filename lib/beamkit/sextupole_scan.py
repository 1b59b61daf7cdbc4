"""Sextupole strength scans: calibration, alignment and beam size (CESR method).

About 1300 lines, over the project's ~400: one measurement method from model ring to survey
(ring and closed orbit, scans, reconstruction, calibration, survey), landed whole with its
chapter; splitting it into a subpackage by those five parts is open work.

Changing the integrated strength of one sextupole by dK2L kicks a beam with centroid
(X0, Y0) relative to the magnet centre and RMS sizes (sigma_x, sigma_y). Averaged over a
Gaussian beam, the change of kick is (code convention, as MAD-X and xtrack,
``px -= k2l/2 (x^2 - y^2)``, ``py += k2l x y``)

* a quadrupole term ``dK1L = dK2L X0`` (k1 > 0 focuses horizontally),
* a skew-quadrupole term ``da1 = dK2L Y0``,
* a dipole term ``dpx = -dK2L (X0^2 - Y0^2 + sigma_x^2 - sigma_y^2) / 2``,

so that ``sigma_x^2 - sigma_y^2 = -2 dpx/dK2L + Y0^2 - X0^2`` :cite:p:`crittenden2025cesr`.
This module simulates such scans on a ring of thin elements (:func:`fodo_ring`,
:func:`simulate_scan`), reconstructs X0, Y0 and sigma_x from them (:func:`reconstruct`),
calibrates a sextupole from a closed-bump scan (:func:`calibrate`), and runs the whole
procedure on every sextupole of a ring (:func:`survey`).

The ring model is a list of thin elements; between the nonlinear nodes (sextupoles and
orbit correctors) it is linear, so the closed orbit is found by Newton iteration on
6x6 matrices, which is fast enough for a survey of many sextupoles. :meth:`Ring.to_xtrack`
builds the same ring in xtrack for independent checks.
"""

from __future__ import annotations

import concurrent.futures
import warnings
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from . import _validate as v
from .errors import BeamkitWarning, ConvergenceError, InputError, UnstableLatticeError
from .fits import fit_polynomial

__all__ = [
    "Calibration",
    "DesignOptics",
    "Orbit",
    "Reconstruction",
    "Ring",
    "ScanResult",
    "SurveyResult",
    "calibrate",
    "closed_orbit",
    "design_optics",
    "fodo_ring",
    "kick_from_orbit",
    "orbit_response_m_per_rad",
    "quadrupole_term_from_tunes",
    "reconstruct",
    "reconstruct_scan",
    "simulate_scan",
    "survey",
]

_TWO_PI = 2.0 * np.pi


# --------------------------------------------------------------------------------------------
# ring model
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Ring:
    """A ring of thin elements for sextupole-scan simulations.

    Attributes
    ----------
    elements : tuple of tuple
        ``(kind, name, value)`` with kind ``"drift"`` (value: ``length_m``), ``"quadrupole"``
        (thin, value ``k1l`` in 1/m), ``"dipole"`` (thin sector bend, value ``angle_rad``),
        ``"bpm"`` (an orbit monitor and corrector, value unused), ``"sextupole"`` (thin,
        value index into ``k2l``), ``"cavity"`` (value unused).
    k2l : numpy.ndarray
        Integrated strength of each sextupole as set by the control system (1/m^2).
    calibration : numpy.ndarray
        True strength divided by the set strength, per sextupole (1 for a perfect magnet).
    shift_x_m, shift_y_m : numpy.ndarray
        Misalignment of each sextupole (magnet centre relative to the reference orbit), m.
    sigma_x_m, sigma_y_m : float
        RMS beam sizes used for the superposed beam-size dipole term (0: a single particle).
    rf_kappa_per_m : float
        Linearised RF kick ``delta += rf_kappa_per_m * zeta`` at the cavity (6D only).
    energy_ev : float
        Beam energy (only for the xtrack export).
    """

    elements: tuple
    k2l: np.ndarray
    calibration: np.ndarray
    shift_x_m: np.ndarray
    shift_y_m: np.ndarray
    sigma_x_m: float = 0.0
    sigma_y_m: float = 0.0
    rf_kappa_per_m: float = 0.0
    energy_ev: float = 6.0e9
    _cache: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def n_sextupoles(self):
        """Number of sextupoles."""
        return len(self.k2l)

    @property
    def circumference_m(self):
        """Sum of the drift lengths (m)."""
        return float(sum(val for kind, _, val in self.elements if kind == "drift"))

    @property
    def bpm_names(self):
        """Names of the orbit monitors, in order."""
        return [name for kind, name, _ in self.elements if kind == "bpm"]

    @property
    def sextupole_names(self):
        """Names of the sextupoles, in order."""
        return [name for kind, name, _ in self.elements if kind == "sextupole"]

    def with_changes(self, **changes):
        """A copy with some attributes replaced (arrays copied, the original untouched).

        Accepted: ``k2l``, ``calibration``, ``shift_x_m``, ``shift_y_m`` (one value per
        sextupole), ``sigma_x_m``, ``sigma_y_m``.
        """
        arrays = ("k2l", "calibration", "shift_x_m", "shift_y_m")
        allowed = (*arrays, "sigma_x_m", "sigma_y_m")
        fields = {k: np.array(getattr(self, k), dtype=float) for k in arrays}
        for key, val in changes.items():
            if key not in allowed:
                raise InputError(key, val, "cannot be changed", f"change one of {', '.join(allowed)}")
            if key in arrays:
                fields[key] = v.array(key, np.atleast_1d(val), shape=(self.n_sextupoles,),
                                      positive=key == "calibration",
                                      fix=f"give one value per sextupole ({self.n_sextupoles})")
            else:
                fields[key] = v.scalar(key, val, nonnegative=True, unit="m")
        v.plausible("shift_x_m", float(np.max(np.abs(fields["shift_x_m"]))), 0.0, 0.05, "m",
                    "misalignments are given in metres")
        return replace(self, _cache={}, **fields)

    def madx_input(self, sequence="ring"):
        """MAD-X input for the same ring: a sequence of thin multipoles, then EALIGN errors.

        Quadrupoles are ``multipole, knl={0, k1l}``, bends ``multipole, knl={angle}``
        (thin bends), sextupoles ``multipole, knl={0, 0, k2l}`` preceded by an ``hkicker`` for
        the beam-size dipole b0, their misalignment given by ``ealign, dx, dy``. BPMs and the cavity
        are markers (use 4D ``twiss``). Call ``beam`` and ``use`` before ``twiss``.
        """
        lines, s_m = [], 0.0
        for kind, name, val in self.elements:
            if kind == "drift":
                s_m += val
                continue
            if kind == "quadrupole":
                body = f"multipole, knl:={{0, {float(val)!r}}}"
            elif kind == "dipole":
                body = f"multipole, knl:={{{float(val)!r}}}"
            elif kind == "sextupole":
                k2l = self.k2l[val] * self.calibration[val]
                b0 = 0.5 * k2l * (self.sigma_x_m ** 2 - self.sigma_y_m ** 2)
                # MAD-X bends the reference orbit with a multipole's knl(0): the beam-size
                # dipole is a separate kicker (px += kick)
                lines.append(f"{name}_b0: hkicker, kick = {float(-b0)!r}, at = {float(s_m)!r};")
                body = f"multipole, knl:={{0, 0, {float(k2l)!r}}}"
            else:
                body = "marker"
            lines.append(f"{name}: {body}, at = {float(s_m)!r};")
        text = [f"{sequence}: sequence, l = {float(s_m)!r}, refer = centre;", *lines, "endsequence;",
                f"beam, particle = electron, energy = {self.energy_ev / 1e9!r};",
                f"use, sequence = {sequence};"]
        for kind, name, val in self.elements:
            if kind == "sextupole" and (self.shift_x_m[val] or self.shift_y_m[val]):
                text += ["select, flag = error, clear;", f"select, flag = error, pattern = \"^{name}$\";",
                         f"ealign, dx = {float(self.shift_x_m[val])!r}, dy = {float(self.shift_y_m[val])!r};"]
        return "\n".join(text) + "\n"

    def to_xtrack(self, six_d=False):
        """The same ring as an ``xtrack.Line`` (thin multipoles, sextupoles with shifts).

        The beam-size dipole term is superposed as ``knl[0]`` on the sextupole. The RF is not
        exported (use 4D twiss on the returned line).
        """
        import xtrack as xt

        elements, names = [], []
        for kind, name, val in self.elements:
            if kind == "drift":
                elements.append(xt.Drift(length=val))
            elif kind == "quadrupole":
                elements.append(xt.Multipole(knl=[0.0, val]))
            elif kind == "dipole":
                elements.append(xt.Multipole(knl=[val], hxl=val, length=0.0))
            elif kind == "sextupole":
                k2l = self.k2l[val] * self.calibration[val]
                b0 = 0.5 * k2l * (self.sigma_x_m ** 2 - self.sigma_y_m ** 2)
                elements.append(xt.Multipole(knl=[b0, 0.0, k2l], shift_x=self.shift_x_m[val],
                                             shift_y=self.shift_y_m[val]))
            else:
                elements.append(xt.Marker())
            names.append(name)
        line = xt.Line(elements=elements, element_names=names)
        line.particle_ref = xt.Particles(p0c=self.energy_ev, mass0=xt.ELECTRON_MASS_EV)
        line.build_tracker()
        return line


def fodo_ring(n_cells=8, cell_length_m=10.0, k1l=0.25, k1l_d=0.3, sextupoles="one", k2l=0.0,
              sigma_x_m=0.0, sigma_y_m=0.0, q_s=0.02, energy_ev=6.0e9):
    """A ring of thin FODO cells with thin bends, BPMs at the quadrupoles and sextupoles.

    Each cell is ``QF BPM [SF] D/4 B D/4 QD BPM [SD] D/4 B D/4``; the cavity sits at the start.

    Parameters
    ----------
    n_cells : int
        Number of cells (>= 4); the bend angle is 2 pi / (2 n_cells).
    cell_length_m : float
        Cell length (m).
    k1l, k1l_d : float
        Integrated strengths of the thin focusing and defocusing quadrupoles (1/m), +k1l for
        QF, -k1l_d for QD (different values split the tunes).
    sextupoles : {"one", "all"}
        One sextupole ``sf0`` after the first QF (the source's toy lattice
        :cite:p:`crittenden2025cesr`), or one after every quadrupole.
    k2l : float or array_like
        Set integrated strengths of the sextupoles (1/m^2).
    sigma_x_m, sigma_y_m : float
        RMS beam sizes of the superposed beam-size dipole term (m).
    q_s : float
        Synchrotron tune of the linearised RF (used only by 6D calculations).
    energy_ev : float
        Beam energy (eV), only for the xtrack export.

    Returns
    -------
    Ring
    """
    n_cells = v.integer("n_cells", n_cells, minimum=4)
    cell_length_m = v.scalar("cell_length_m", cell_length_m, positive=True, unit="m")
    k1l = v.scalar("k1l", k1l, positive=True, unit="1/m")
    k1l_d = v.scalar("k1l_d", k1l_d, positive=True, unit="1/m")
    sextupoles = v.choice("sextupoles", sextupoles, ("one", "all"))
    sigma_x_m = v.scalar("sigma_x_m", sigma_x_m, nonnegative=True, unit="m")
    sigma_y_m = v.scalar("sigma_y_m", sigma_y_m, nonnegative=True, unit="m")
    v.plausible("sigma_x_m", sigma_x_m, 0.0, 0.05, "m", "beam sizes are given in metres")
    q_s = v.scalar("q_s", q_s, positive=True, maximum=0.2)
    energy_ev = v.scalar("energy_ev", energy_ev, positive=True, unit="eV")
    angle = np.pi / n_cells
    quarter = cell_length_m / 4.0
    elements = [("cavity", "rf", 0.0)]
    n_sext = 0
    for i in range(n_cells):
        for plane, strength in (("f", k1l), ("d", -k1l_d)):
            elements += [("quadrupole", f"q{plane}{i}", strength), ("bpm", f"bpm{plane}{i}", 0.0)]
            if sextupoles == "all" or (i == 0 and plane == "f"):
                elements.append(("sextupole", f"s{plane}{i}", n_sext))
                n_sext += 1
            elements += [("drift", f"d{plane}{i}a", quarter), ("dipole", f"b{plane}{i}", angle),
                         ("drift", f"d{plane}{i}b", quarter)]
    k2l_arr = np.broadcast_to(v.array("k2l", np.atleast_1d(k2l), ndim=1, unit="1/m^2"),
                              (n_sext,)).copy() if np.size(k2l) in (1, n_sext) else None
    if k2l_arr is None:
        raise InputError("k2l", k2l, f"needs one value or {n_sext} values (one per sextupole)")
    ring = Ring(elements=tuple(elements), k2l=k2l_arr, calibration=np.ones(n_sext),
                shift_x_m=np.zeros(n_sext), shift_y_m=np.zeros(n_sext), sigma_x_m=sigma_x_m,
                sigma_y_m=sigma_y_m, energy_ev=energy_ev)
    # linearised RF giving the requested synchrotron tune: trace = 2 - kappa * alpha_c * C
    alpha_c = _linear_optics(ring)["alpha_c"]
    kappa = (2.0 - 2.0 * np.cos(_TWO_PI * q_s)) / (alpha_c * ring.circumference_m)
    return replace(ring, rf_kappa_per_m=float(kappa), _cache={})


# --------------------------------------------------------------------------------------------
# linear maps and the nonlinear nodes
# --------------------------------------------------------------------------------------------
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


@dataclass(frozen=True)
class DesignOptics:
    """Design optics at a sextupole, all sextupoles off (see :func:`design_optics`).

    Attributes
    ----------
    beta_x_m, beta_y_m : float
        Beta functions (m).
    q_x, q_y : float
        Fractional tunes.
    dispersion_x_m : float
        Horizontal dispersion (m).
    alpha_c : float
        Momentum compaction.
    circumference_m : float
        Circumference (m).
    """

    beta_x_m: float
    beta_y_m: float
    q_x: float
    q_y: float
    dispersion_x_m: float
    alpha_c: float
    circumference_m: float

    def to_frame(self):
        """The optics as a one-column table."""
        return pd.DataFrame({"value": list(self.__dict__.values())}, index=list(self.__dict__))


def design_optics(ring, sextupole=0):
    """Design optics (sextupoles off, uncoupled) just upstream of one sextupole.

    Parameters
    ----------
    ring : Ring
    sextupole : int
        Index of the sextupole.

    Returns
    -------
    DesignOptics
    """
    if not isinstance(ring, Ring):
        raise InputError("ring", ring, "must be a beamkit.sextupole_scan.Ring", "build one with fodo_ring")
    sextupole = v.integer("sextupole", sextupole, minimum=0, maximum=ring.n_sextupoles - 1)
    out = _linear_optics(ring, ring.sextupole_names[sextupole])
    return DesignOptics(**{k: float(val) for k, val in out.items()})


@dataclass(frozen=True)
class Orbit:
    """Closed orbit and linear motion around it (see :func:`closed_orbit`).

    Attributes
    ----------
    x_m, px, y_m, py, delta : float
        Closed orbit just before the observed sextupole (m, 1, m, 1, 1).
    q_x, q_y : float
        Fractional tunes of small oscillations about the orbit.
    a1_per_m : float
        Skew term read off the one-turn matrix before the sextupole, M13/M12 (1/m).
    x_bpm_m, y_bpm_m : numpy.ndarray
        Orbit at every BPM (m).
    matrix : numpy.ndarray
        The 6x6 one-turn Jacobian before the sextupole.
    """

    x_m: float
    px: float
    y_m: float
    py: float
    delta: float
    q_x: float
    q_y: float
    a1_per_m: float
    x_bpm_m: np.ndarray
    y_bpm_m: np.ndarray
    matrix: np.ndarray


def closed_orbit(ring, sextupole=0, six_d=False, kicks=None, k2l_override=None):
    """Closed orbit, tunes and skew term observed just before one sextupole.

    Parameters
    ----------
    ring : Ring
    sextupole : int
        Index of the observed sextupole.
    six_d : bool
        Include the RF (fixed frequency: the momentum adjusts so the path length is kept).
    kicks : dict, optional
        ``{bpm_name: (kick_x_rad, kick_y_rad)}`` corrector kicks at BPMs.
    k2l_override : dict, optional
        ``{sextupole_index: true k2l}`` replacing the strength of some sextupoles (1/m^2).

    Returns
    -------
    Orbit
    """
    if not isinstance(ring, Ring):
        raise InputError("ring", ring, "must be a beamkit.sextupole_scan.Ring", "build one with fodo_ring")
    sextupole = v.integer("sextupole", sextupole, minimum=0, maximum=ring.n_sextupoles - 1)
    nodes, _ = _segments(ring, bool(six_d))
    start = next(i for i, nd in enumerate(nodes) if nd[0] == "sextupole" and nd[1] == sextupole)
    z, jac, rec = _solve_orbit(ring, bool(six_d), kicks, k2l_override, start)
    q_x, q_y = _tunes(jac[:4, :4])
    bpm = np.array([nd[0] == "bpm" for nd in np.roll(np.array(nodes, dtype=object), -start, axis=0)])
    order = np.roll(np.arange(len(nodes)), -start)
    bpm_rec = rec[bpm]
    # put BPM readings back in ring order
    bpm_order = np.argsort(order[bpm])
    return Orbit(x_m=z[0], px=z[1], y_m=z[2], py=z[3], delta=z[5], q_x=q_x, q_y=q_y,
                 a1_per_m=jac[0, 2] / jac[0, 1], x_bpm_m=bpm_rec[bpm_order, 0],
                 y_bpm_m=bpm_rec[bpm_order, 2], matrix=jac)


# --------------------------------------------------------------------------------------------
# first-order relations
# --------------------------------------------------------------------------------------------
def quadrupole_term_from_tunes(dq_x, dq_y, beta_x_m, beta_y_m):
    """Integrated quadrupole term from tune shifts: dK1L = dmu_x/beta_x - dmu_y/beta_y.

    Code convention (k1 > 0 focuses horizontally): a thin quadrupole K1L shifts the tunes by
    dQx = +beta_x K1L/(4 pi), dQy = -beta_y K1L/(4 pi), so this difference is K1L to first
    order and insensitive to skew terms. The source :cite:p:`crittenden2025cesr` writes
    the opposite difference because its b1 has the opposite sign; mixing the conventions
    returns -X0.

    Parameters
    ----------
    dq_x, dq_y : float or array_like
        Tune shifts (1).
    beta_x_m, beta_y_m : float
        Beta functions at the quadrupole term (m).

    Returns
    -------
    ndarray
        dK1L (1/m).
    """
    dq_x = v.array("dq_x", np.atleast_1d(dq_x))
    dq_y = v.array("dq_y", np.atleast_1d(dq_y))
    v.same_shape(dq_x=dq_x, dq_y=dq_y)
    beta_x_m = v.scalar("beta_x_m", beta_x_m, positive=True, unit="m")
    beta_y_m = v.scalar("beta_y_m", beta_y_m, positive=True, unit="m")
    return _TWO_PI * dq_x / beta_x_m - _TWO_PI * dq_y / beta_y_m


def orbit_response_m_per_rad(beta_x_m, q_x, dispersion_x_m=0.0, alpha_c=None, circumference_m=None):
    """Closed-orbit change at a thin kick per unit kick (m/rad).

    4D (fixed momentum): beta cot(pi Q)/2. 6D (fixed RF frequency, ultra-relativistic):
    the momentum changes by -D theta/(alpha_c C), adding -D^2/(alpha_c C).

    Parameters
    ----------
    beta_x_m : float
        Beta function at the kick (m).
    q_x : float
        Tune (the integer part does not matter).
    dispersion_x_m : float
        Dispersion at the kick (m); used only when ``alpha_c`` is given.
    alpha_c : float, optional
        Momentum compaction; ``None`` gives the 4D relation.
    circumference_m : float, optional
        Ring circumference (m), required with ``alpha_c``.
    """
    beta_x_m = v.scalar("beta_x_m", beta_x_m, positive=True, unit="m")
    q_x = v.scalar("q_x", q_x, positive=True)
    if abs(q_x - round(q_x)) < 1e-6:
        raise InputError("q_x", q_x, "is on an integer resonance: the orbit response is infinite")
    dispersion_x_m = v.scalar("dispersion_x_m", dispersion_x_m, unit="m")
    r = 0.5 * beta_x_m / np.tan(np.pi * q_x)
    if alpha_c is not None:
        alpha_c = v.scalar("alpha_c", alpha_c)
        if alpha_c == 0:
            raise InputError("alpha_c", alpha_c, "must not be 0 (isochronous ring)")
        circumference_m = v.scalar("circumference_m", circumference_m, positive=True, unit="m",
                                   fix="give the circumference with alpha_c")
        r -= dispersion_x_m ** 2 / (alpha_c * circumference_m)
    return r


def kick_from_orbit(dx_m, beta_x_m, q_x, dispersion_x_m=0.0, alpha_c=None, circumference_m=None):
    """Kick (rad) at a location from the closed-orbit change ``dx_m`` (m) there.

    Inverse of :func:`orbit_response_m_per_rad` (same parameters). Using the 4D form on orbits
    measured with the RF on biases the kick by the ratio of the dispersion term to the
    betatron term (see the physics notes of the chapter).
    """
    dx_m = v.array("dx_m", np.atleast_1d(dx_m), unit="m")
    return dx_m / orbit_response_m_per_rad(beta_x_m, q_x, dispersion_x_m, alpha_c, circumference_m)


# --------------------------------------------------------------------------------------------
# scans
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ScanResult:
    """A simulated K2 scan of one sextupole (see :func:`simulate_scan`).

    Arrays have shape (n_repeats, n_settings) for measured quantities (noise added per repeat)
    and (n_settings,) for the truth.

    Attributes
    ----------
    dk2l : numpy.ndarray
        Strength changes (1/m^2), the true ones (calibration included).
    q_x, q_y : numpy.ndarray
        Measured fractional tunes.
    dk1l : numpy.ndarray
        Quadrupole term from the beta-weighted tune shifts (1/m).
    da1 : numpy.ndarray
        Change of the skew term M13/M12 of the one-turn matrix (1/m).
    dx_m, dy_m : numpy.ndarray
        Measured closed-orbit change at the sextupole (m).
    dpx, dpy : numpy.ndarray
        Measured angle changes at the sextupole (rad).
    x_bpm_m : numpy.ndarray
        Measured closed orbit at every BPM (m), shape (n_repeats, n_settings, n_bpm).
    x0_m, y0_m : float
        True beam centroid relative to the sextupole centre before the scan (m).
    x_sext_m, y_sext_m : float
        Orbit at the sextupole before the scan, in the reference frame (m).
    sigma_x_m, sigma_y_m : float
        True beam sizes at the sextupole: the superposed ones, or the tracked sample RMS.
    k2l0 : float
        True initial strength (1/m^2).
    beta_x_m, beta_y_m : float
        Machine beta functions at the sextupole before the scan, used for ``dk1l`` (m).
    q_x0, q_y0, dispersion_x_m, alpha_c, circumference_m : float
        Design optics at the sextupole (all sextupoles off).
    dpx_true, dk1l_true, da1_true : numpy.ndarray
        Noise-free angle change, beta-weighted tune-shift difference and skew term.
    """

    dk2l: np.ndarray
    q_x: np.ndarray
    q_y: np.ndarray
    dk1l: np.ndarray
    da1: np.ndarray
    dx_m: np.ndarray
    dy_m: np.ndarray
    dpx: np.ndarray
    dpy: np.ndarray
    x_bpm_m: np.ndarray
    x0_m: float
    y0_m: float
    x_sext_m: float
    y_sext_m: float
    sigma_x_m: float
    sigma_y_m: float
    k2l0: float
    beta_x_m: float
    beta_y_m: float
    q_x0: float
    q_y0: float
    dispersion_x_m: float
    alpha_c: float
    circumference_m: float
    dpx_true: np.ndarray
    dk1l_true: np.ndarray
    da1_true: np.ndarray

    def flat(self, name):
        """A measured array flattened over repeats, with the matching dK2L values."""
        data = getattr(self, name)
        return np.tile(self.dk2l, data.shape[0]), data.ravel()

    def to_frame(self):
        """Measured quantities, one row per (repeat, setting)."""
        n_rep = self.q_x.shape[0]
        return pd.DataFrame({
            "repeat": np.repeat(np.arange(n_rep), self.dk2l.size),
            "dk2l": np.tile(self.dk2l, n_rep),
            "dk1l": self.dk1l.ravel(), "da1": self.da1.ravel(), "dpx": self.dpx.ravel(),
            "dpy": self.dpy.ravel(), "dx_m": self.dx_m.ravel(), "dy_m": self.dy_m.ravel()})


def _gaussian_sample(ring, sextupole, n_particles, rng, optics, eps_x_m, eps_y_m, sigma_delta):
    """A centred Gaussian sample matched to the (uncoupled) optics before the sextupole."""
    plain = replace(ring, k2l=np.zeros_like(ring.k2l), _cache={})
    name = ring.sextupole_names[sextupole]
    nodes, _ = _segments(plain, False)
    start = [nd[2] for nd in nodes].index(name)
    _, jac, _ = _one_turn(plain, np.zeros((6, 1)), False, {}, {}, start)
    z = np.zeros((6, n_particles))
    for i, eps in ((0, eps_x_m), (2, eps_y_m)):
        m = jac[i:i + 2, i:i + 2]
        cos_mu = 0.5 * np.trace(m)
        sin_mu = np.sign(m[0, 1]) * np.sqrt(1 - cos_mu ** 2)
        beta, alpha = m[0, 1] / sin_mu, (m[0, 0] - m[1, 1]) / (2 * sin_mu)
        a, b = rng.standard_normal(n_particles), rng.standard_normal(n_particles)
        z[i] = np.sqrt(eps * beta) * a
        z[i + 1] = np.sqrt(eps / beta) * (b - alpha * a)
    d = np.linalg.solve(np.eye(2) - jac[:2, :2], jac[:2, 5])
    z[5] = sigma_delta * rng.standard_normal(n_particles)
    z[0] += d[0] * z[5]
    z[1] += d[1] * z[5]
    return z - z.mean(axis=1, keepdims=True)


def _tracked_point(ring, sextupole, k2l_true, sample, n_turns, x_start):
    """Track the sample (around the start centroid) n_turns; beam-averaged observables."""
    single = replace(ring, sigma_x_m=0.0, sigma_y_m=0.0, _cache={})
    nodes, _ = _segments(single, False)
    start = next(i for i, nd in enumerate(nodes) if nd[0] == "sextupole" and nd[1] == sextupole)
    z = sample + x_start[:, None]
    xs, ys, kx, ky, var_x = [], [], [], [], []
    sx, sy = ring.shift_x_m[sextupole], ring.shift_y_m[sextupole]
    over = {sextupole: k2l_true}
    for _ in range(n_turns):
        u, w = z[0] - sx, z[2] - sy
        xs.append(z[0].mean())
        ys.append(z[2].mean())
        var_x.append(z[0].var())
        kx.append(np.mean(-0.5 * k2l_true * (u ** 2 - w ** 2)))
        ky.append(np.mean(k2l_true * u * w))
        z, _, _ = _one_turn(single, z, False, {}, over, start)
    return np.mean(xs), np.mean(ys), np.mean(kx), np.mean(ky), np.sqrt(np.mean(var_x))


def simulate_scan(ring, sextupole=0, dk2l=None, n_repeats=1, six_d=False, method="dipole",
                  noise=None, rng=None, n_particles=2000, n_turns=200, eps_x_m=None, eps_y_m=0.0,
                  sigma_delta=0.0, fresh_sample=False):
    """Simulate a K2 scan of one sextupole.

    For every strength change the closed orbit is found, the tunes and the skew term M13/M12
    are read off the one-turn matrix before the sextupole, and the beam-averaged angle change
    at the sextupole is computed :cite:p:`crittenden2025cesr`.

    Parameters
    ----------
    ring : Ring
        The ring; its set strength, calibration and misalignment of the sextupole are the
        truth. ``ring.sigma_x_m``/``sigma_y_m`` are the superposed beam sizes (method
        ``"dipole"``).
    sextupole : int
        Index of the scanned sextupole.
    dk2l : array_like
        Set strength changes (1/m^2); the true changes are these times the calibration.
        Default: eleven values from -10 to 10 1/m^2.
    n_repeats : int
        Number of repeated measurements (each with its own noise).
    six_d : bool
        RF on: 6D closed orbit (the momentum adjusts to keep the path length).
    method : {"dipole", "tracking"}
        ``"dipole"``: the beam-size term superposed as a dipole kick b0 = k2l (sigma_x^2 -
        sigma_y^2)/2 on a single particle (the source's toy-lattice test). ``"tracking"``: a
        Gaussian sample of ``n_particles`` matched to the optics (``eps_x_m``, ``eps_y_m``,
        ``sigma_delta``) is tracked ``n_turns`` turns for every setting; angle changes and
        orbit are beam averages (4D only). Tunes and the skew term are taken about the beam
        centre, i.e. on the closed orbit of the superposed-dipole model with the sample's
        RMS sizes, which is the centroid orbit to first order (not the single-particle closed
        orbit of the bare sextupole).
    noise : dict, optional
        One-sigma noise: ``q`` (tunes), ``a1_per_m``, ``orbit_m`` (orbit at BPMs and at the
        sextupole), ``angle_rad`` (dpx, dpy). Missing keys mean no noise.
    rng : numpy.random.Generator, optional
        Source of the noise and of the particle sample (required when noise or tracking is used).
    n_particles, n_turns : int
        Tracking sample size (>= 2000) and turns per setting.
    eps_x_m, eps_y_m, sigma_delta : float
        Emittances (m) and momentum spread of the tracked sample.
    fresh_sample : bool
        Draw a new sample for every setting (a mistake shown in the chapter; default False:
        the same centred sample for every dK2L).

    Returns
    -------
    ScanResult
    """
    if not isinstance(ring, Ring):
        raise InputError("ring", ring, "must be a beamkit.sextupole_scan.Ring", "build one with fodo_ring")
    sextupole = v.integer("sextupole", sextupole, minimum=0, maximum=ring.n_sextupoles - 1)
    dk2l = np.linspace(-10.0, 10.0, 11) if dk2l is None else v.array("dk2l", dk2l, ndim=1, min_size=3,
                                                                        unit="1/m^2")
    v.plausible("dk2l", float(np.max(np.abs(dk2l))), 1e-6, 1e3, "1/m^2",
                "sextupole strength changes are integrated strengths in 1/m^2")
    n_repeats = v.integer("n_repeats", n_repeats, minimum=1)
    method = v.choice("method", method, ("dipole", "tracking"))
    noise = dict(noise or {})
    unknown = set(noise) - {"q", "a1_per_m", "orbit_m", "angle_rad"}
    if unknown:
        raise InputError("noise", noise, f"has unknown keys {sorted(unknown)}",
                         "use q, a1_per_m, orbit_m, angle_rad")
    for key, val in noise.items():
        v.scalar(f"noise[{key!r}]", val, nonnegative=True)
    if (any(noise.values()) or method == "tracking") and not isinstance(rng, np.random.Generator):
        raise InputError("rng", rng, "a numpy Generator is required for noise or tracking",
                         "pass rng=np.random.default_rng(seed)")
    if method == "tracking":
        if six_d:
            raise InputError("six_d", six_d, "tracking is 4D only here", "use six_d=False")
        n_particles = v.integer("n_particles", n_particles, minimum=2000)
        n_turns = v.integer("n_turns", n_turns, minimum=1)
        eps_x_m = v.scalar("eps_x_m", eps_x_m, positive=True, unit="m")
        eps_y_m = v.scalar("eps_y_m", eps_y_m, nonnegative=True, unit="m")
        sigma_delta = v.scalar("sigma_delta", sigma_delta, nonnegative=True)
    cal = ring.calibration[sextupole]
    k2l0 = ring.k2l[sextupole] * cal
    dk2l_true = dk2l * cal
    name = ring.sextupole_names[sextupole]
    optics = _linear_optics(ring, name)
    base = closed_orbit(ring, sextupole, six_d)
    sx, sy = ring.shift_x_m[sextupole], ring.shift_y_m[sextupole]
    sig_x, sig_y = ring.sigma_x_m, ring.sigma_y_m
    rows = []
    if method == "dipole":
        ref_kick = (-0.5 * k2l0 * ((base.x_m - sx) ** 2 - (base.y_m - sy) ** 2 + sig_x ** 2 - sig_y ** 2),
                    k2l0 * (base.x_m - sx) * (base.y_m - sy))
        for d in dk2l_true:
            orb = closed_orbit(ring, sextupole, six_d, k2l_override={sextupole: k2l0 + d})
            u, w = orb.x_m - sx, orb.y_m - sy
            k = k2l0 + d
            kick = (-0.5 * k * (u ** 2 - w ** 2 + sig_x ** 2 - sig_y ** 2), k * u * w)
            rows.append((orb.q_x, orb.q_y, orb.a1_per_m, orb.x_m, orb.y_m, kick[0] - ref_kick[0],
                         kick[1] - ref_kick[1], orb.x_bpm_m))
        true_sig_x, true_sig_y = sig_x, sig_y
    else:
        single = replace(ring, sigma_x_m=0.0, sigma_y_m=0.0, _cache={})
        sample = _gaussian_sample(ring, sextupole, n_particles, rng, optics, eps_x_m, eps_y_m, sigma_delta)
        ref = None
        rms = []
        for d in np.concatenate([[0.0], dk2l_true]):
            if fresh_sample:
                sample = _gaussian_sample(ring, sextupole, n_particles, rng, optics, eps_x_m, eps_y_m,
                                          sigma_delta)
            # start the beam on the closed orbit of the superposed-dipole model
            guess_ring = replace(single, sigma_x_m=float(sample[0].std()), sigma_y_m=float(sample[2].std()),
                                 _cache={})
            start = closed_orbit(guess_ring, sextupole, False, k2l_override={sextupole: k2l0 + d})
            z0 = np.array([start.x_m, start.px, start.y_m, start.py, 0.0, 0.0])
            xc, yc, kx, ky, rms_x = _tracked_point(ring, sextupole, k2l0 + d, sample, n_turns, z0)
            # tunes and skew term about the beam centre (not the single-particle orbit)
            jac_orb = closed_orbit(guess_ring, sextupole, False, k2l_override={sextupole: k2l0 + d})
            rms.append(rms_x)
            row = (jac_orb.q_x, jac_orb.q_y, jac_orb.a1_per_m, xc, yc, kx, ky, jac_orb.x_bpm_m)
            if ref is None:
                ref = row
                continue
            rows.append(row)
        rows = [r[:5] + (r[5] - ref[5], r[6] - ref[6]) + r[7:] for r in rows]
        base = replace(base, x_m=ref[3], y_m=ref[4], q_x=ref[0], q_y=ref[1], a1_per_m=ref[2])
        true_sig_x, true_sig_y = rms[0], 0.0
    q_x = np.array([r[0] for r in rows])
    q_y = np.array([r[1] for r in rows])
    a1 = np.array([r[2] for r in rows])
    xo = np.array([r[3] for r in rows])
    yo = np.array([r[4] for r in rows])
    dpx = np.array([r[5] for r in rows])
    dpy = np.array([r[6] for r in rows])
    xb = np.array([r[7] for r in rows])
    rng_ = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(0)
    shape = (n_repeats, dk2l.size)

    def noisy(arr, key):
        sig = noise.get(key, 0.0)
        reps = np.broadcast_to(arr, shape + arr.shape[1:]).copy()
        return reps + sig * rng_.standard_normal(reps.shape) if sig else reps

    mq_x, mq_y = noisy(q_x, "q"), noisy(q_y, "q")
    # machine optics at the sextupole before the scan (equal to the design optics when no
    # other sextupole is powered)
    bx, by = _machine_betas(base.matrix)
    dk1l = (_TWO_PI * (mq_x - base.q_x) / bx - _TWO_PI * (mq_y - base.q_y) / by)
    dk1l_true = _TWO_PI * (q_x - base.q_x) / bx - _TWO_PI * (q_y - base.q_y) / by
    return ScanResult(
        dk2l=dk2l_true, q_x=mq_x, q_y=mq_y, dk1l=dk1l, da1=noisy(a1 - base.a1_per_m, "a1_per_m"),
        dx_m=noisy(xo - base.x_m, "orbit_m"), dy_m=noisy(yo - base.y_m, "orbit_m"),
        dpx=noisy(dpx, "angle_rad"), dpy=noisy(dpy, "angle_rad"), x_bpm_m=noisy(xb, "orbit_m"),
        x0_m=float(base.x_m - sx), y0_m=float(base.y_m - sy), x_sext_m=float(base.x_m),
        y_sext_m=float(base.y_m), sigma_x_m=float(true_sig_x), sigma_y_m=float(true_sig_y),
        k2l0=float(k2l0), beta_x_m=float(bx), beta_y_m=float(by), q_x0=optics["q_x"], q_y0=optics["q_y"],
        dispersion_x_m=optics["dispersion_x_m"], alpha_c=optics["alpha_c"],
        circumference_m=optics["circumference_m"], dpx_true=dpx, dk1l_true=dk1l_true,
        da1_true=a1 - base.a1_per_m)


# --------------------------------------------------------------------------------------------
# reconstruction
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Reconstruction:
    """Beam position and size at a sextupole from a K2 scan (see :func:`reconstruct`).

    Attributes
    ----------
    sigma_x_m, sigma_x_err_m : float
        Horizontal RMS beam size and its propagated uncertainty (m); NaN when sigma_x^2 < 0.
    sigma_x2_m2, sigma_x2_err_m2 : float
        sigma_x^2 and its uncertainty (m^2).
    x0_m, x0_err_m, y0_m, y0_err_m : float
        Beam centroid relative to the sextupole centre, from the quadrupole and skew terms (m).
    slope_dpx, slope_dpx_err : float
        Linear coefficient of the (feed-down corrected) dpx against dK2L (rad m^2).
    chi2_ndf : dict
        chi^2/ndf of the three fits with the errors given (Birge factors squared).
    """

    sigma_x_m: float
    sigma_x_err_m: float
    sigma_x2_m2: float
    sigma_x2_err_m2: float
    x0_m: float
    x0_err_m: float
    y0_m: float
    y0_err_m: float
    slope_dpx: float
    slope_dpx_err: float
    chi2_ndf: dict

    def to_frame(self):
        """The results as a one-column table (SI units)."""
        keys = ("sigma_x_m", "sigma_x_err_m", "x0_m", "x0_err_m", "y0_m", "y0_err_m", "slope_dpx",
                "slope_dpx_err")
        return pd.DataFrame({"value": [getattr(self, k) for k in keys]}, index=keys)


def reconstruct(dk2l, dk1l, da1, dpx, dx_m=None, dy_m=None, k2l0=0.0, sigma_y_m=0.0, degree=3,
                sigma_dk1l=None, sigma_da1=None, sigma_dpx=None):
    """X0, Y0 and sigma_x from a K2 scan :cite:p:`crittenden2025cesr`.

    * X0: linear coefficient of ``dK1L - (k2l0 + dK2L) dx`` against dK2L (the quadrupole term,
      with the feed-down of the orbit change through the full strength removed);
    * Y0: likewise from ``da1 - (k2l0 + dK2L) dy``;
    * sigma_x: from the linear coefficient s of the feed-down corrected angle change,
      ``dpx + (k2l0 + dK2L) [(2 X0 dx + dx^2) - (2 Y0 dy + dy^2)] / 2``:
      ``sigma_x^2 = -2 s - X0^2 + Y0^2 + sigma_y^2``, with
      ``d(sigma_x^2) = 2 sqrt(ds^2 + (X0 dX0)^2 + (Y0 dY0)^2)`` and
      ``d(sigma_x) = d(sigma_x^2) / (2 sigma_x)``.

    Polynomials of degree ``degree`` are fitted with Birge-scaled errors
    (:func:`beamkit.fits.fit_polynomial`); one order more than the physics needs.

    Parameters
    ----------
    dk2l : array_like, shape (n,)
        True strength changes (1/m^2), calibration included; repeats may be concatenated.
    dk1l : array_like, shape (n,)
        Quadrupole term, e.g. from :func:`quadrupole_term_from_tunes` (1/m).
    da1 : array_like, shape (n,)
        Skew term (1/m).
    dpx : array_like, shape (n,)
        Horizontal angle change at the sextupole (rad).
    dx_m, dy_m : array_like, shape (n,), optional
        Closed-orbit change at the sextupole (m); required when ``k2l0`` is not 0 (the
        feed-down terms); when given they are always used.
    k2l0 : float
        True initial strength (1/m^2).
    sigma_y_m : float
        Vertical beam size, if known (m); 0 neglects it as the source does.
    degree : int
        Degree of the polynomial fits (>= 1).
    sigma_dk1l, sigma_da1, sigma_dpx : float or array_like, optional
        Point errors; only their ratios matter (the fits are Birge-scaled).

    Returns
    -------
    Reconstruction
    """
    dk2l = v.array("dk2l", dk2l, ndim=1, min_size=3, unit="1/m^2")
    dk1l = v.array("dk1l", dk1l, ndim=1, unit="1/m")
    da1 = v.array("da1", da1, ndim=1, unit="1/m")
    dpx = v.array("dpx", dpx, ndim=1, unit="rad")
    v.same_shape(dk2l=dk2l, dk1l=dk1l, da1=da1, dpx=dpx)
    k2l0 = v.scalar("k2l0", k2l0, unit="1/m^2")
    sigma_y_m = v.scalar("sigma_y_m", sigma_y_m, nonnegative=True, unit="m")
    degree = v.integer("degree", degree, minimum=1)
    if np.unique(dk2l).size < degree + 2:
        raise InputError("dk2l", dk2l, f"needs at least {degree + 2} distinct values for a degree-"
                         f"{degree} fit with errors", "scan more settings or lower the degree")
    v.plausible("dpx", float(np.max(np.abs(dpx))), 0.0, 1e-2, "rad", "angles are in rad, not mrad")
    if k2l0 != 0.0 and (dx_m is None or dy_m is None):
        raise InputError("dx_m", dx_m, "the orbit changes dx_m and dy_m are needed when k2l0 != 0 "
                         "(feed-down of the orbit change through the initial strength)",
                         "pass the measured orbit change at the sextupole")
    dx = np.zeros_like(dk2l) if dx_m is None else v.array("dx_m", dx_m, ndim=1, unit="m")
    dy = np.zeros_like(dk2l) if dy_m is None else v.array("dy_m", dy_m, ndim=1, unit="m")
    v.same_shape(dk2l=dk2l, dx_m=dx, dy_m=dy)
    k = k2l0 + dk2l
    fx = fit_polynomial(dk2l, dk1l - k * dx, degree, sigma_dk1l)
    fy = fit_polynomial(dk2l, da1 - k * dy, degree, sigma_da1)
    x0, x0_err = fx.coefficients[1], fx.errors[1]
    y0, y0_err = fy.coefficients[1], fy.errors[1]
    corrected = dpx + 0.5 * k * ((2 * x0 * dx + dx ** 2) - (2 * y0 * dy + dy ** 2))
    fp = fit_polynomial(dk2l, corrected, degree, sigma_dpx)
    slope, slope_err = fp.coefficients[1], fp.errors[1]
    s2 = -2.0 * slope - x0 ** 2 + y0 ** 2 + sigma_y_m ** 2
    s2_err = 2.0 * np.sqrt(slope_err ** 2 + (x0 * x0_err) ** 2 + (y0 * y0_err) ** 2)
    sig = np.sqrt(s2) if s2 > 0 else np.nan
    if not s2 > 0:
        warnings.warn(f"reconstructed sigma_x^2 = {s2:.3g} m^2 <= 0 (+- {s2_err:.2g}): sigma_x is NaN; "
                      "the angle-change slope is too small for the offsets X0, Y0", BeamkitWarning,
                      stacklevel=2)
    return Reconstruction(sigma_x_m=float(sig), sigma_x_err_m=float(s2_err / (2 * sig)) if s2 > 0 else np.nan,
                          sigma_x2_m2=float(s2), sigma_x2_err_m2=float(s2_err), x0_m=float(x0),
                          x0_err_m=float(x0_err), y0_m=float(y0), y0_err_m=float(y0_err),
                          slope_dpx=float(slope), slope_dpx_err=float(slope_err),
                          chi2_ndf={"dk1l": fx.chi2_ndf, "da1": fy.chi2_ndf, "dpx": fp.chi2_ndf})


def reconstruct_scan(scan, degree=3, use_orbit=True):
    """:func:`reconstruct` applied to a :class:`ScanResult` (repeats pooled)."""
    if not isinstance(scan, ScanResult):
        raise InputError("scan", scan, "must be a ScanResult", "use simulate_scan")
    x, dk1l = scan.flat("dk1l")
    _, da1 = scan.flat("da1")
    _, dpx = scan.flat("dpx")
    _, dx = scan.flat("dx_m")
    _, dy = scan.flat("dy_m")
    if not use_orbit:
        dx = dy = None
    return reconstruct(x, dk1l, da1, dpx, dx, dy, k2l0=scan.k2l0 if use_orbit else 0.0, degree=degree)


# --------------------------------------------------------------------------------------------
# calibration, alignment, survey
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Calibration:
    """Calibration of one sextupole from a closed-bump scan (see :func:`calibrate`).

    Attributes
    ----------
    factor, factor_err : float
        Measured over model ratio of d(dK1L)/dX (true strength over set strength), with its
        Birge-scaled uncertainty.
    bump_x_m : numpy.ndarray
        Measured beam positions at the sextupole for the bump settings (m).
    dk1l : numpy.ndarray
        Beta-weighted tune-shift differences per unit set dK2L at each bump (1/m per 1/m^2).
    x_zero_m : float
        Position where the fitted line crosses zero: the magnet centre in the BPM frame (m).
    """

    factor: float
    factor_err: float
    bump_x_m: np.ndarray
    dk1l: np.ndarray
    x_zero_m: float


def _bump_kicks(ring, sextupole, height_m):
    """Three-corrector closed bump of height ``height_m`` at the sextupole (linear optics)."""
    plain = replace(ring, k2l=np.zeros_like(ring.k2l), _cache={})
    nodes, maps = _segments(plain, False)
    n = len(nodes)
    js = next(i for i, nd in enumerate(nodes) if nd[0] == "sextupole" and nd[1] == sextupole)
    bpms = [i for i, nd in enumerate(nodes) if nd[0] == "bpm"]
    # correctors: the second BPM upstream of the sextupole (the first one sits right next to
    # it, with no phase advance in between) and the next two BPMs downstream
    upstream = sorted([b for b in bpms if b < js] + [b - n for b in bpms if b > js])
    after = [b for b in bpms if b > js] + [b + n for b in bpms]
    c = [upstream[-2], after[0], after[1]]

    def transport(i_from, i_to):
        m = np.eye(6)
        for k in range(i_from, i_to):
            m = maps[k % n] @ m  # negative indices wrap round the ring
        return m[:2, :2]

    # unknown kicks t1, t2, t3; x at sextupole entrance = height; (x, px) after c3 = 0
    a_s = transport(c[0], js)
    a_2 = transport(c[0], c[1])
    a_3 = transport(c[1], c[2])
    # state after c3 = A3 (A2 (0,t1) + (0,t2)) + (0,t3)
    mat = np.zeros((3, 3))
    rhs = np.array([height_m, 0.0, 0.0])
    mat[0, 0] = a_s[0, 1]
    after_c3_t1 = a_3 @ a_2 @ np.array([0.0, 1.0])
    after_c3_t2 = a_3 @ np.array([0.0, 1.0])
    mat[1:, 0] = after_c3_t1
    mat[1:, 1] = after_c3_t2
    mat[1:, 2] = [0.0, 1.0]
    t = np.linalg.solve(mat, rhs)
    return {nodes[ci % n][2]: (tk, 0.0) for ci, tk in zip(c, t)}


def calibrate(ring, sextupole=0, bumps_m=(-2e-3, -1e-3, 0.0, 1e-3, 2e-3), dk2l=2.0, noise=None, rng=None):
    """Calibration factor of one sextupole from tune shifts at five closed-bump positions.

    At each bump position X the set strength is changed by +-dk2l; the beta-weighted
    tune-shift difference (:func:`quadrupole_term_from_tunes`) is c dk2l (X - X_magnet) plus
    feed-down terms, so its slope against the measured X divided by the model slope dk2l is
    the calibration factor c :cite:p:`crittenden2025cesr`.

    Parameters
    ----------
    ring : Ring
    sextupole : int
    bumps_m : array_like
        Closed-bump heights at the sextupole (m), at least three.
    dk2l : float
        Set strength change (1/m^2).
    noise : dict, optional
        ``q`` (tune noise) and ``orbit_m`` (BPM noise at the sextupole).
    rng : numpy.random.Generator, optional

    Returns
    -------
    Calibration
    """
    if not isinstance(ring, Ring):
        raise InputError("ring", ring, "must be a beamkit.sextupole_scan.Ring", "build one with fodo_ring")
    sextupole = v.integer("sextupole", sextupole, minimum=0, maximum=ring.n_sextupoles - 1)
    bumps = v.array("bumps_m", bumps_m, ndim=1, min_size=3, unit="m")
    v.plausible("bumps_m", float(np.max(np.abs(bumps))), 0.0, 0.02, "m", "bump heights are in metres")
    dk2l = v.scalar("dk2l", dk2l, unit="1/m^2")
    if dk2l == 0:
        raise InputError("dk2l", dk2l, "must not be 0")
    noise = dict(noise or {})
    sig_q, sig_x = noise.get("q", 0.0), noise.get("orbit_m", 0.0)
    if (sig_q or sig_x) and not isinstance(rng, np.random.Generator):
        raise InputError("rng", rng, "a numpy Generator is required for noise",
                         "pass rng=np.random.default_rng(seed)")
    # the analysis uses the machine's optics at the sextupole (as measured, e.g. from a model
    # fitted to phase and orbit data), not the design optics: sextupoles with an initial
    # strength and a misalignment beat beta by a few per cent
    beta_x_m, beta_y_m = _machine_betas(closed_orbit(ring, sextupole).matrix)
    k_set = ring.k2l[sextupole]
    cal = ring.calibration[sextupole]
    xs, ys = [], []
    for h in bumps:
        kicks = _bump_kicks(ring, sextupole, h)
        q = []
        for d in (-dk2l, dk2l):
            orb = closed_orbit(ring, sextupole, False, kicks, {sextupole: cal * (k_set + d)})
            q.append((orb.q_x, orb.q_y, orb.x_m))
        dqx = q[1][0] - q[0][0] + (sig_q * np.sqrt(2) * rng.standard_normal() if sig_q else 0.0)
        dqy = q[1][1] - q[0][1] + (sig_q * np.sqrt(2) * rng.standard_normal() if sig_q else 0.0)
        ys.append(float(quadrupole_term_from_tunes(dqx, dqy, beta_x_m, beta_y_m)[0])
                  / (2 * dk2l))
        xs.append(0.5 * (q[0][2] + q[1][2]) + (sig_x * rng.standard_normal() if sig_x else 0.0))
    fit = fit_polynomial(xs, ys, 1)
    return Calibration(factor=float(fit.coefficients[1]), factor_err=float(fit.errors[1]),
                       bump_x_m=np.array(xs), dk1l=np.array(ys),
                       x_zero_m=float(-fit.coefficients[0] / fit.coefficients[1]))


@dataclass(frozen=True)
class SurveyResult:
    """Calibration and alignment of every sextupole of a ring (see :func:`survey`).

    Attributes
    ----------
    calibration, calibration_err, calibration_true : numpy.ndarray
        Measured calibration factors, their uncertainties and the truth.
    x_offset_m, x_offset_err_m, x_offset_true_m : numpy.ndarray
        Horizontal misalignment X_sext - X0 measured, its uncertainty and the truth (m).
    y_offset_m, y_offset_err_m, y_offset_true_m : numpy.ndarray
        Vertical misalignment (m).
    """

    calibration: np.ndarray
    calibration_err: np.ndarray
    calibration_true: np.ndarray
    x_offset_m: np.ndarray
    x_offset_err_m: np.ndarray
    x_offset_true_m: np.ndarray
    y_offset_m: np.ndarray
    y_offset_err_m: np.ndarray
    y_offset_true_m: np.ndarray

    def pulls(self):
        """(measured - true) / uncertainty for calibration, x offset, y offset."""
        return pd.DataFrame({
            "calibration": (self.calibration - self.calibration_true) / self.calibration_err,
            "x_offset": (self.x_offset_m - self.x_offset_true_m) / self.x_offset_err_m,
            "y_offset": (self.y_offset_m - self.y_offset_true_m) / self.y_offset_err_m})

    def to_frame(self):
        """One row per sextupole: measured, uncertainty and true values."""
        return pd.DataFrame({k: getattr(self, k) for k in self.__dataclass_fields__})


def _survey_one(ring, index, dk2l, n_repeats, noise, seed, calibration_dk2l):
    """Calibrate and align one sextupole (module-level so that process pools can run it)."""
    rng = np.random.default_rng(seed)
    cal = calibrate(ring, index, dk2l=calibration_dk2l, noise=noise, rng=rng)
    scan = simulate_scan(ring, index, dk2l, n_repeats=n_repeats, noise=noise, rng=rng)
    # the analysis only knows the set strengths: scale them by the measured calibration
    dk2l_meas = np.tile(dk2l, n_repeats) * cal.factor
    _, dk1l = scan.flat("dk1l")
    _, da1 = scan.flat("da1")
    _, dx = scan.flat("dx_m")
    _, dy = scan.flat("dy_m")
    _, dpx = scan.flat("dpx")
    with warnings.catch_warnings():
        # the survey uses X0 and Y0 only; a beam of negligible size gives sigma_x^2 ~ 0 +- noise
        warnings.filterwarnings("ignore", message="reconstructed sigma_x", category=BeamkitWarning)
        rec = reconstruct(dk2l_meas, dk1l, da1, dpx, dx, dy, k2l0=ring.k2l[index] * cal.factor, degree=3)
    # X_sext: the BPM reading at the sextupole before the scan (one reading per repeat)
    sig_x = noise.get("orbit_m", 0.0)
    reads = scan.x_sext_m + sig_x * rng.standard_normal(n_repeats)
    reads_y = scan.y_sext_m + sig_x * rng.standard_normal(n_repeats)
    err_read = sig_x / np.sqrt(n_repeats)
    # X0 scales as 1/c: its error includes the calibration error
    x0_err = np.hypot(rec.x0_err_m, rec.x0_m * cal.factor_err / cal.factor)
    y0_err = np.hypot(rec.y0_err_m, rec.y0_m * cal.factor_err / cal.factor)
    return (cal.factor, cal.factor_err, reads.mean() - rec.x0_m, np.hypot(x0_err, err_read),
            reads_y.mean() - rec.y0_m, np.hypot(y0_err, err_read))


def survey(ring, dk2l=None, n_repeats=3, noise=None, seed=0, executor=None, calibration_dk2l=2.0):
    """Calibrate and align every sextupole of ``ring`` from simulated noisy scans.

    For each sextupole: a closed-bump calibration (:func:`calibrate`), then a K2 scan
    (:func:`simulate_scan`) analysed with the measured calibration (:func:`reconstruct`);
    the misalignment is X_sext - X0 with X_sext the orbit reading at the sextupole
    :cite:p:`crittenden2025cesr`.

    Parameters
    ----------
    ring : Ring
        Its ``calibration``, ``shift_x_m``, ``shift_y_m`` are the (hidden) truth.
    dk2l : array_like, optional
        Set strength changes of the scans (1/m^2); default eleven from -10 to 10.
    n_repeats : int
        Repeated measurements per setting.
    noise : dict, optional
        As in :func:`simulate_scan`.
    seed : int
        Seed; sextupole i uses ``seed + i`` so that results do not depend on the executor.
    executor : concurrent.futures.Executor, optional
        Where to run the sextupoles (default: serially in this process).
    calibration_dk2l : float
        Set strength change of the closed-bump calibration (1/m^2); small, because the
        first-order tune formula errs at third order in the quadrupole term.

    Returns
    -------
    SurveyResult
    """
    if not isinstance(ring, Ring):
        raise InputError("ring", ring, "must be a beamkit.sextupole_scan.Ring", "build one with fodo_ring")
    dk2l = np.linspace(-10.0, 10.0, 11) if dk2l is None else v.array("dk2l", dk2l, ndim=1, min_size=4)
    n_repeats = v.integer("n_repeats", n_repeats, minimum=1)
    seed = v.integer("seed", seed, minimum=0)
    noise = dict(noise or {})
    if executor is not None and not isinstance(executor, concurrent.futures.Executor):
        raise InputError("executor", executor, "must be a concurrent.futures.Executor",
                         "pass e.g. ProcessPoolExecutor(2), or None to run serially")
    calibration_dk2l = v.scalar("calibration_dk2l", calibration_dk2l, positive=True, unit="1/m^2")
    args = [(replace(ring, _cache={}), i, dk2l, n_repeats, noise, seed + i, calibration_dk2l)
            for i in range(ring.n_sextupoles)]
    if executor is None:
        rows = [_survey_one(*a) for a in args]
    else:
        rows = list(executor.map(_survey_one, *zip(*args)))
    rows = np.array(rows)
    return SurveyResult(calibration=rows[:, 0], calibration_err=rows[:, 1],
                        calibration_true=ring.calibration.copy(), x_offset_m=rows[:, 2],
                        x_offset_err_m=rows[:, 3], x_offset_true_m=ring.shift_x_m.copy(),
                        y_offset_m=rows[:, 4], y_offset_err_m=rows[:, 5],
                        y_offset_true_m=ring.shift_y_m.copy())
