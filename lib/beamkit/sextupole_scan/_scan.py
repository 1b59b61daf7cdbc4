"""Simulated K2 scans of one sextupole: superposed beam-size dipole or a tracked Gaussian beam."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from .. import _validate as v
from ..errors import InputError
from ._maps import (
    _TWO_PI,
    _block_twiss,
    _linear_optics,
    _machine_betas,
    _one_turn,
    _periodic_dispersion,
    _plain_one_turn,
    _segments,
    _sextupole_kick,
    _sextupole_node,
)
from ._orbit import closed_orbit
from ._ring import _check_ring


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


def _gaussian_sample(ring, sextupole, n_particles, rng, eps_x_m, eps_y_m, sigma_delta):
    """A centred Gaussian sample matched to the (uncoupled) optics before the sextupole."""
    _, jac = _plain_one_turn(ring, ring.sextupole_names[sextupole])
    z = np.zeros((6, n_particles))
    for i, eps in ((0, eps_x_m), (2, eps_y_m)):
        m = jac[i:i + 2, i:i + 2]
        _, sin_mu, beta = _block_twiss(m)
        alpha = (m[0, 0] - m[1, 1]) / (2 * sin_mu)
        a, b = rng.standard_normal(n_particles), rng.standard_normal(n_particles)
        z[i] = np.sqrt(eps * beta) * a
        z[i + 1] = np.sqrt(eps / beta) * (b - alpha * a)
    d = _periodic_dispersion(jac)
    z[5] = sigma_delta * rng.standard_normal(n_particles)
    z[0] += d[0] * z[5]
    z[1] += d[1] * z[5]
    return z - z.mean(axis=1, keepdims=True)


def _tracked_point(ring, sextupole, k2l_true, sample, n_turns, x_start):
    """Track the sample (around the start centroid) n_turns; beam-averaged observables."""
    single = replace(ring, sigma_x_m=0.0, sigma_y_m=0.0, _cache={})
    nodes, _ = _segments(single, False)
    start = _sextupole_node(nodes, sextupole)
    z = sample + x_start[:, None]
    xs, ys, kx, ky, var_x = [], [], [], [], []
    sx, sy = ring.shift_x_m[sextupole], ring.shift_y_m[sextupole]
    over = {sextupole: k2l_true}
    for _ in range(n_turns):
        u, w = z[0] - sx, z[2] - sy
        xs.append(z[0].mean())
        ys.append(z[2].mean())
        var_x.append(z[0].var())
        dpx, dpy = _sextupole_kick(k2l_true, u, w)
        kx.append(np.mean(dpx))
        ky.append(np.mean(dpy))
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
    sextupole = _check_ring(ring, sextupole)
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
        ref_kick = _sextupole_kick(k2l0, base.x_m - sx, base.y_m - sy, sig_x, sig_y)
        for d in dk2l_true:
            orb = closed_orbit(ring, sextupole, six_d, k2l_override={sextupole: k2l0 + d})
            kick = _sextupole_kick(k2l0 + d, orb.x_m - sx, orb.y_m - sy, sig_x, sig_y)
            rows.append((orb.q_x, orb.q_y, orb.a1_per_m, orb.x_m, orb.y_m, kick[0] - ref_kick[0],
                         kick[1] - ref_kick[1], orb.x_bpm_m))
        true_sig_x, true_sig_y = sig_x, sig_y
    else:
        single = replace(ring, sigma_x_m=0.0, sigma_y_m=0.0, _cache={})
        sample = _gaussian_sample(ring, sextupole, n_particles, rng, eps_x_m, eps_y_m, sigma_delta)
        ref = None
        rms = []
        for d in np.concatenate([[0.0], dk2l_true]):
            if fresh_sample:
                sample = _gaussian_sample(ring, sextupole, n_particles, rng, eps_x_m, eps_y_m, sigma_delta)
            # start the beam on the closed orbit of the superposed-dipole model
            guess_ring = replace(single, sigma_x_m=float(sample[0].std()), sigma_y_m=float(sample[2].std()),
                                 _cache={})
            # tunes and skew term are taken about it too (not about the single-particle orbit)
            jac_orb = closed_orbit(guess_ring, sextupole, False, k2l_override={sextupole: k2l0 + d})
            z0 = np.array([jac_orb.x_m, jac_orb.px, jac_orb.y_m, jac_orb.py, 0.0, 0.0])
            xc, yc, kx, ky, rms_x = _tracked_point(ring, sextupole, k2l0 + d, sample, n_turns, z0)
            rms.append(rms_x)
            row = (jac_orb.q_x, jac_orb.q_y, jac_orb.a1_per_m, xc, yc, kx, ky, jac_orb.x_bpm_m)
            if ref is None:
                ref = row
                continue
            rows.append(row)
        rows = [r[:5] + (r[5] - ref[5], r[6] - ref[6]) + r[7:] for r in rows]
        base = replace(base, x_m=ref[3], y_m=ref[4], q_x=ref[0], q_y=ref[1], a1_per_m=ref[2])
        true_sig_x, true_sig_y = rms[0], 0.0
    q_x, q_y, a1, xo, yo, dpx, dpy, xb = (np.array(column) for column in zip(*rows))
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

    def beta_weighted(tune_x, tune_y):  # quadrupole_term_from_tunes, without its input checks
        return _TWO_PI * (tune_x - base.q_x) / bx - _TWO_PI * (tune_y - base.q_y) / by

    dk1l, dk1l_true = beta_weighted(mq_x, mq_y), beta_weighted(q_x, q_y)
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
