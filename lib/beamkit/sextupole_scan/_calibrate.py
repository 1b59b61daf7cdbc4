"""Calibration of one sextupole from tune shifts at closed-bump positions."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import _validate as v
from ..errors import InputError
from ..fits import fit_polynomial
from ._maps import _machine_betas, _segments, _sextupole_node, _sextupoles_off
from ._orbit import closed_orbit, quadrupole_term_from_tunes
from ._ring import _check_ring


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
    nodes, maps = _segments(_sextupoles_off(ring), False)
    n = len(nodes)
    js = _sextupole_node(nodes, sextupole)
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
    sextupole = _check_ring(ring, sextupole)
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
