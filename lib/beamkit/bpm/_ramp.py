"""A simulated BPM measurement over an acceleration ramp, and its analysis.

About 490 lines because the simulation (truth, machine errors, signals) and the analysis
(corrections, modes, fits per turn and per BPM pair, growth against a reference) share their
data classes and must stay side by side to be read as one measurement chain."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import _validate as v
from ..errors import InputError
from ..lattices import PARTICLES
from ._fit import MAX_CONDITION
from ._ring import BpmOptics
from ._signals import _geometry, _leading, gaussian_signals, modes, plate_signals

__all__ = [
    "BpmMachine",
    "RampAnalysis",
    "RampGrowth",
    "RampSignals",
    "RampTruth",
    "analyse_ramp",
    "make_machine",
    "ramp_growth",
    "ramp_truth",
    "simulate_ramp",
]

_MASS_EV = PARTICLES["proton"][0]


@dataclass(frozen=True)
class RampTruth:
    """The beam's true parameters turn by turn.

    Attributes
    ----------
    turn : numpy.ndarray
        Turn numbers 0 .. n_turns - 1.
    gamma0, beta0 : numpy.ndarray
        Relativistic factors of the reference particle (1).
    eps_x_m, eps_y_m : numpy.ndarray
        Geometric RMS emittances (m).
    sigma_p2 : numpy.ndarray
        Squared RMS relative momentum spread (1).
    growth_turn : int
        Turn after which the normalised emittances grow.
    """

    turn: np.ndarray
    gamma0: np.ndarray
    beta0: np.ndarray
    eps_x_m: np.ndarray
    eps_y_m: np.ndarray
    sigma_p2: np.ndarray
    growth_turn: int

    def to_frame(self):
        """One row per turn."""
        return pd.DataFrame({"turn": self.turn, "gamma0": self.gamma0, "eps_x_m": self.eps_x_m,
                             "eps_y_m": self.eps_y_m, "sigma_p2": self.sigma_p2})


def ramp_truth(n_turns=20000, *, eps_n_x_m=2.0e-6, eps_n_y_m=1.5e-6, sigma_delta=1.5e-3,
               kinetic_injection_ev=400e6, kinetic_extraction_ev=8e9, growth_turn=10000,
               growth_rel=(0.3, 0.2), growth_turns=2000):
    """Emittances and momentum spread along a Booster-like ramp.

    The energy follows a resonant (half-cosine) ramp from 400 MeV to 8 GeV kinetic
    energy. The normalised emittances ``eps_n = beta0 gamma0 eps`` are kept (adiabatic
    damping of the geometric ones) until ``growth_turn``; after it they grow by the
    fractions ``growth_rel`` with the time constant ``growth_turns``, as the source sees
    after transition :cite:p:`tan2024booster`. The momentum spread is a prescribed model,
    ``sigma_delta (beta0 gamma0 at injection / beta0 gamma0)^(1/2)`` (not a longitudinal
    simulation).

    Parameters
    ----------
    n_turns : int
        Number of turns (at least 2).
    eps_n_x_m, eps_n_y_m : float
        Normalised RMS emittances at injection (m).
    sigma_delta : float
        RMS relative momentum spread at injection (1).
    kinetic_injection_ev, kinetic_extraction_ev : float
        Kinetic energies of the protons at the start and end of the ramp (eV).
    growth_turn : int
        Turn at which the growth starts (e.g. the transition crossing).
    growth_rel : tuple of float
        Final relative growth of ``eps_n_x_m`` and ``eps_n_y_m`` (0 for none).
    growth_turns : float
        Time constant of the growth (turns).

    Returns
    -------
    RampTruth
    """
    n = v.integer("n_turns", n_turns, minimum=2)
    ex = v.scalar("eps_n_x_m", eps_n_x_m, positive=True, unit="m")
    ey = v.scalar("eps_n_y_m", eps_n_y_m, positive=True, unit="m")
    v.plausible("eps_n_x_m", ex, 1e-9, 1e-4, "m", "emittances are given in metres (1 mm mrad = 1e-6 m)")
    sd = v.scalar("sigma_delta", sigma_delta, nonnegative=True, maximum=0.1)
    k0 = v.scalar("kinetic_injection_ev", kinetic_injection_ev, positive=True, unit="eV")
    k1 = v.scalar("kinetic_extraction_ev", kinetic_extraction_ev, minimum=k0, unit="eV")
    kg = v.integer("growth_turn", growth_turn, minimum=0)
    g = v.array("growth_rel", growth_rel, shape=(2,), minimum=0.0)
    tau = v.scalar("growth_turns", growth_turns, positive=True)
    turn = np.arange(n)
    g0, g1 = 1 + k0 / _MASS_EV, 1 + k1 / _MASS_EV
    gamma = g0 + (g1 - g0) * (1 - np.cos(np.pi * turn / (n - 1))) / 2
    beta = np.sqrt(1 - 1 / gamma**2)
    bg = beta * gamma
    shape = np.where(turn > kg, 1 - np.exp(-(turn - kg) / tau), 0.0)
    eps_x = ex * (1 + g[0] * shape) / bg
    eps_y = ey * (1 + g[1] * shape) / bg
    sp2 = sd**2 * (bg[0] / bg)
    return RampTruth(turn, gamma, beta, eps_x, eps_y, sp2, kg)


@dataclass(frozen=True)
class BpmMachine:
    """The BPM system: the true optics and the imperfections of each BPM.

    Attributes
    ----------
    optics : BpmOptics
        The optics the beam really sees (may differ from the design: beta-beating).
    radius_m, plate_angle_rad : float
        BPM geometry (m, rad).
    gains : numpy.ndarray
        True gain of every plate, shape (n_bpm, 4) (1).
    offsets : numpy.ndarray
        DC offset of every plate, shape (n_bpm, 4), in units of the normalised plate
        signal of :func:`plate_signals`.
    orbit_x_m, orbit_y_m : numpy.ndarray
        Closed orbit at the BPMs (m).
    noise_rel : float
        RMS electronic noise per plate and turn, relative to the mean plate signal
        ``phi0 / 2 pi`` of a full-intensity beam (1).
    """

    optics: BpmOptics
    radius_m: float
    plate_angle_rad: float
    gains: np.ndarray
    offsets: np.ndarray
    orbit_x_m: np.ndarray
    orbit_y_m: np.ndarray
    noise_rel: float


def make_machine(optics, *, radius_m=0.05, plate_angle_rad=math.pi / 3, gain_error_rel=0.01,
                 offset_rel=0.005, orbit_rms_m=1e-3, noise_rel=1e-3, seed=0):
    """Draw the BPM imperfections (gains, offsets, orbit) for a ring's BPMs.

    Parameters
    ----------
    optics : BpmOptics
        The true optics at the BPMs.
    radius_m, plate_angle_rad : float
        BPM radius (m) and plate angle (rad).
    gain_error_rel : float
        RMS relative plate-gain mismatch (1).
    offset_rel : float
        RMS DC offset relative to the mean plate signal (1).
    orbit_rms_m : float
        RMS closed orbit at the BPMs, each plane (m).
    noise_rel : float
        RMS noise per plate and turn, relative to the mean plate signal (1).
    seed : int
        Seed of ``numpy.random.default_rng``.

    Returns
    -------
    BpmMachine
    """
    if not isinstance(optics, BpmOptics):
        raise InputError("optics", optics, "must be a BpmOptics", "use bpm_optics(lattice)")
    a, phi0 = _geometry(radius_m, plate_angle_rad)
    ge = v.scalar("gain_error_rel", gain_error_rel, nonnegative=True, maximum=0.5)
    oe = v.scalar("offset_rel", offset_rel, nonnegative=True, maximum=0.5)
    orb = v.scalar("orbit_rms_m", orbit_rms_m, nonnegative=True, maximum=a / 5, unit="m")
    nr = v.scalar("noise_rel", noise_rel, nonnegative=True, maximum=0.5)
    seed = v.integer("seed", seed, minimum=0)
    rng = np.random.default_rng(seed)
    nb = len(optics.names)
    gains = 1 + ge * rng.standard_normal((nb, 4))
    offsets = oe * phi0 / (2 * math.pi) * rng.standard_normal((nb, 4))
    ox, oy = orb * rng.standard_normal(nb), orb * rng.standard_normal(nb)
    return BpmMachine(optics, a, phi0, gains, offsets, ox, oy, nr)


@dataclass(frozen=True)
class RampSignals:
    """What the BPMs deliver over a ramp.

    Attributes
    ----------
    signals : numpy.ndarray
        Raw plate signals, shape (n_turns, n_bpm, 4), plates R, L, T, B.
    baseline : numpy.ndarray
        Raw signals with no beam, shape (n_baseline, n_bpm, 4): offsets plus noise.
    gain_calibration : numpy.ndarray
        Measured plate gains (n_bpm, 4): the true ones with a calibration error.
    intensity : float
        Beam intensity relative to the nominal one (1).
    """

    signals: np.ndarray
    baseline: np.ndarray
    gain_calibration: np.ndarray
    intensity: float

    @property
    def offset_estimate(self):
        """DC offsets estimated as the mean of the no-beam turns, shape (n_bpm, 4)."""
        return self.baseline.mean(axis=0)


def simulate_ramp(machine, truth, *, intensity=1.0, n_particles=None, n_baseline=1000,
                  gain_calibration_error_rel=1e-3, synchrotron_tune=0.02, seed=1):
    """Plate signals at every BPM and turn of a ramp, with noise, gain errors and offsets.

    The beam at BPM ``j`` has ``sigma_x^2 = beta_x eps_x + (D_x sigma_delta)^2``,
    ``sigma_y^2 = beta_y eps_y`` (true optics of ``machine``) and the closed orbit as
    centroid. Without ``n_particles`` the signals are those of a Gaussian beam
    (:func:`gaussian_signals`, the limit of many particles). With ``n_particles`` an
    ensemble is sampled once, whitened (exactly zero mean and unit covariance in
    normalised coordinates) and turned by the betatron phase of each BPM and turn; its
    signals come from :func:`plate_signals`.

    Parameters
    ----------
    machine : BpmMachine
    truth : RampTruth
    intensity : float
        Beam current relative to nominal: the beam signal scales with it, the noise and
        offsets do not.
    n_particles : int, optional
        Number of sampled particles (at least 16); Gaussian limit if omitted.
    n_baseline : int
        Number of no-beam turns recorded for the offsets.
    gain_calibration_error_rel : float
        RMS relative error of the measured gains (1).
    synchrotron_tune : float
        Synchrotron tune used to turn the sampled momentum deviations (1).
    seed : int
        Seed of ``numpy.random.default_rng``.

    Returns
    -------
    RampSignals
    """
    if not isinstance(machine, BpmMachine):
        raise InputError("machine", machine, "must be a BpmMachine", "use make_machine(optics)")
    if not isinstance(truth, RampTruth):
        raise InputError("truth", truth, "must be a RampTruth", "use ramp_truth()")
    inten = v.scalar("intensity", intensity, positive=True)
    nbase = v.integer("n_baseline", n_baseline, minimum=1)
    gce = v.scalar("gain_calibration_error_rel", gain_calibration_error_rel, nonnegative=True, maximum=0.5)
    qs = v.scalar("synchrotron_tune", synchrotron_tune, nonnegative=True, maximum=0.5)
    seed = v.integer("seed", seed, minimum=0)
    rng = np.random.default_rng(seed)
    o = machine.optics
    a, phi0 = machine.radius_m, machine.plate_angle_rad
    nt, nb = truth.turn.size, len(o.names)
    if n_particles is None:
        sx2 = o.beta_x_m * truth.eps_x_m[:, None] + o.dispersion_x_m**2 * truth.sigma_p2[:, None]
        sy2 = o.beta_y_m * truth.eps_y_m[:, None]
        beam = gaussian_signals(machine.orbit_x_m[None, :], machine.orbit_y_m[None, :], sx2 - sy2, a, phi0)
    else:
        npart = v.integer("n_particles", n_particles, minimum=16)
        z = rng.standard_normal((npart, 6))
        z -= z.mean(axis=0)
        chol = np.linalg.cholesky(z.T @ z / npart)
        z = np.linalg.solve(chol, z.T)  # rows: ax, bx, ay, by, dn, en; exactly unit covariance
        beam = np.empty((nt, nb, 4))
        two_pi = 2 * math.pi
        for k in range(nt):
            px = o.mu_x_rad + two_pi * o.q_x * truth.turn[k]
            py = o.mu_y_rad + two_pi * o.q_y * truth.turn[k]
            ps = two_pi * qs * truth.turn[k]
            xn = np.cos(px)[:, None] * z[0] + np.sin(px)[:, None] * z[1]
            yn = np.cos(py)[:, None] * z[2] + np.sin(py)[:, None] * z[3]
            dn = math.cos(ps) * z[4] + math.sin(ps) * z[5]
            x = (machine.orbit_x_m[:, None] + np.sqrt(o.beta_x_m * truth.eps_x_m[k])[:, None] * xn
                 + (o.dispersion_x_m * math.sqrt(truth.sigma_p2[k]))[:, None] * dn)
            y = machine.orbit_y_m[:, None] + np.sqrt(o.beta_y_m * truth.eps_y_m[k])[:, None] * yn
            beam[k] = plate_signals(x, y, a, phi0)
    noise = machine.noise_rel * phi0 / (2 * math.pi)
    raw = machine.gains * inten * beam + machine.offsets + noise * rng.standard_normal((nt, nb, 4))
    base = machine.offsets + noise * rng.standard_normal((nbase, nb, 4))
    gcal = machine.gains * (1 + gce * rng.standard_normal((nb, 4)))
    return RampSignals(raw, base, gcal, inten)


@dataclass(frozen=True)
class RampAnalysis:
    """Emittances along a ramp from BPM pairs (and from all BPMs together).

    Attributes
    ----------
    turn : numpy.ndarray
        Mean turn of each bin.
    eps_x_m, eps_y_m : numpy.ndarray
        Average over the BPM pairs (m), per bin.
    eps_x_err_m, eps_y_err_m : numpy.ndarray
        Standard error of that average: spread over pairs / sqrt(n_pairs) (m).
    eps_x_pairs_m, eps_y_pairs_m : numpy.ndarray
        Every pair's solution of Eq. 9 with the known ``sigma_p2`` (m), (n_bins, n_pairs).
    eps_x_all_m, eps_y_all_m, sigma_p2_all : numpy.ndarray
        Least-squares solution with all BPMs and three unknowns per bin (NaN when the
        optics cannot separate ``sigma_p2``).
    quad_term_m2 : numpy.ndarray
        ``sigma_x^2 - sigma_y^2`` per bin and BPM (m^2).
    """

    turn: np.ndarray
    eps_x_m: np.ndarray
    eps_y_m: np.ndarray
    eps_x_err_m: np.ndarray
    eps_y_err_m: np.ndarray
    eps_x_pairs_m: np.ndarray
    eps_y_pairs_m: np.ndarray
    eps_x_all_m: np.ndarray
    eps_y_all_m: np.ndarray
    sigma_p2_all: np.ndarray
    quad_term_m2: np.ndarray

    def to_frame(self):
        """One row per bin: averages over pairs with errors, and the all-BPM fit."""
        return pd.DataFrame({"turn": self.turn, "eps_x_m": self.eps_x_m, "eps_x_err_m": self.eps_x_err_m,
                             "eps_y_m": self.eps_y_m, "eps_y_err_m": self.eps_y_err_m,
                             "eps_x_all_m": self.eps_x_all_m, "eps_y_all_m": self.eps_y_all_m,
                             "sigma_p2_all": self.sigma_p2_all})


def _bin(arr, n_per_bin):
    n = arr.shape[0] // n_per_bin * n_per_bin
    return arr[:n].reshape((n // n_per_bin, n_per_bin) + arr.shape[1:]).mean(axis=1)


def analyse_ramp(signals, optics, radius_m, plate_angle_rad, sigma_p2, *, gains=None, offsets=None,
                 turns_per_bin=1, exact=False):
    """Emittances turn by turn from raw plate signals, the source's way :cite:p:`tan2024booster`.

    Steps: subtract the DC ``offsets`` and divide by the plate ``gains`` (skipped when not
    given); form the modes and average them over ``turns_per_bin`` turns; invert to
    ``sigma_x^2 - sigma_y^2`` with the centroid correction (Eq. 6, or the exact Gaussian
    inversion with ``exact=True``); solve Eq. 9 for every S/L BPM pair with the known
    momentum spread; average over the pairs (the source's "ergodic" average), with the
    spread over pairs as the error band. The all-BPM, three-unknown least-squares
    solution is returned beside it.

    Parameters
    ----------
    signals : array_like
        Raw plate signals (n_turns, n_bpm, 4), plates R, L, T, B.
    optics : BpmOptics
        The optics used in the analysis (the design: beta-beating stays in the data).
    radius_m, plate_angle_rad : float
        BPM geometry (m, rad).
    sigma_p2 : float or array_like
        Known ``sigma_delta^2`` (1), a number or one per turn.
    gains, offsets : array_like, optional
        Plate gains (1) and DC offsets (signal units), shape (n_bpm, 4).
    turns_per_bin : int
        Turns averaged per output point.
    exact : bool
        Exact Gaussian inversion of the binned modes instead of the leading order.

    Returns
    -------
    RampAnalysis
    """
    if not isinstance(optics, BpmOptics):
        raise InputError("optics", optics, "must be a BpmOptics", "use bpm_optics(lattice)")
    nb = len(optics.names)
    sig = v.array("signals", signals, shape=(None, nb, 4),
                  fix=f"give raw signals of shape (n_turns, {nb}, 4)")
    nt = sig.shape[0]
    a, phi0 = _geometry(radius_m, plate_angle_rad)
    sp2 = v.array("sigma_p2", sigma_p2, ndim=(0, 1), nonnegative=True)
    sp2 = np.broadcast_to(sp2, (nt,)) if sp2.ndim == 0 else sp2
    if sp2.shape != (nt,):
        raise InputError("sigma_p2", sigma_p2, f"must be a number or have {nt} values (one per turn)")
    nbin = v.integer("turns_per_bin", turns_per_bin, minimum=1, maximum=nt)
    if offsets is not None:
        sig -= v.array("offsets", offsets, shape=(nb, 4))
    if gains is not None:
        sig /= v.array("gains", gains, shape=(nb, 4), positive=True)
    r, left, t, b = sig[..., 0], sig[..., 1], sig[..., 2], sig[..., 3]
    tot = r + left + t + b
    dx, dy, q = (r - left) / tot, (t - b) / tot, (r + left - t - b) / tot
    if nbin > 1:
        dx, dy, q = _bin(dx, nbin), _bin(dy, nbin), _bin(q, nbin)
        sp2 = _bin(sp2, nbin)
        turn = _bin(np.arange(nt, dtype=float), nbin)
    else:
        turn = np.arange(nt, dtype=float)
    if exact:
        qt = modes(*_modes_to_plates(dx, dy, q), a, phi0, exact=True).quad_term_exact_m2
    else:
        qt = _leading(dx, dy, q, a, phi0)[2]
    rhs = qt - optics.dispersion_x_m**2 * sp2[:, None]
    pairs = optics.pairs
    bx, by = optics.beta_x_m, optics.beta_y_m
    i, j = pairs[:, 0], pairs[:, 1]
    det = -bx[i] * by[j] + by[i] * bx[j]
    ex = (-by[j] * rhs[:, i] + by[i] * rhs[:, j]) / det
    ey = (-bx[j] * rhs[:, i] + bx[i] * rhs[:, j]) / det
    npair = len(pairs)
    design = np.stack([bx, -by, optics.dispersion_x_m**2], axis=1)
    scale = np.linalg.norm(design, axis=0)
    sv = np.linalg.svd(design / scale, compute_uv=False)
    if sv[0] / sv[-1] < MAX_CONDITION:
        p = (np.linalg.pinv(design / scale) @ qt.T).T / scale
    else:
        p = np.full((qt.shape[0], 3), np.nan)
    return RampAnalysis(
        turn=turn, eps_x_m=ex.mean(axis=1), eps_y_m=ey.mean(axis=1),
        eps_x_err_m=ex.std(axis=1, ddof=1) / math.sqrt(npair),
        eps_y_err_m=ey.std(axis=1, ddof=1) / math.sqrt(npair),
        eps_x_pairs_m=ex, eps_y_pairs_m=ey, eps_x_all_m=p[:, 0], eps_y_all_m=p[:, 1], sigma_p2_all=p[:, 2],
        quad_term_m2=qt,
    )


def _modes_to_plates(dx, dy, q):
    """Plate signals (sum 4) with the given modes, for :func:`modes`."""
    return 1 + 2 * dx + q, 1 - 2 * dx + q, 1 + 2 * dy - q, 1 - 2 * dy - q


@dataclass(frozen=True)
class RampGrowth:
    """Emittance growth with respect to a reference ramp (source Sec. 2.2).

    Attributes
    ----------
    turn : numpy.ndarray
        Mean turn of each bin.
    d_eps_x_m, d_eps_y_m : numpy.ndarray
        Pair-by-pair difference to the reference, averaged over pairs (m).
    d_eps_x_err_m, d_eps_y_err_m : numpy.ndarray
        Spread of the pair differences / sqrt(n_pairs) (m).
    """

    turn: np.ndarray
    d_eps_x_m: np.ndarray
    d_eps_y_m: np.ndarray
    d_eps_x_err_m: np.ndarray
    d_eps_y_err_m: np.ndarray

    def to_frame(self):
        """One row per bin."""
        return pd.DataFrame({"turn": self.turn, "d_eps_x_m": self.d_eps_x_m,
                             "d_eps_x_err_m": self.d_eps_x_err_m,
                             "d_eps_y_m": self.d_eps_y_m, "d_eps_y_err_m": self.d_eps_y_err_m})


def ramp_growth(analysis, reference):
    """Growth of the emittances with respect to a reference measurement, pair by pair.

    Each BPM pair has its own reproducible systematic error (gains, offsets, optics
    errors); the difference to the same pair in a reference ramp (the source's 6-turn,
    low-intensity beam) removes it before the average over pairs :cite:p:`tan2024booster`.

    Parameters
    ----------
    analysis, reference : RampAnalysis
        Two analyses with the same binning and BPM pairs.

    Returns
    -------
    RampGrowth
    """
    for name, obj in (("analysis", analysis), ("reference", reference)):
        if not isinstance(obj, RampAnalysis):
            raise InputError(name, obj, "must be a RampAnalysis", "use analyse_ramp()")
    if analysis.eps_x_pairs_m.shape != reference.eps_x_pairs_m.shape:
        raise InputError("reference", reference.eps_x_pairs_m.shape,
                         f"has a different shape from analysis {analysis.eps_x_pairs_m.shape}",
                         "analyse both ramps with the same turns_per_bin and optics")
    dx = analysis.eps_x_pairs_m - reference.eps_x_pairs_m
    dy = analysis.eps_y_pairs_m - reference.eps_y_pairs_m
    n = math.sqrt(dx.shape[1])
    return RampGrowth(analysis.turn, dx.mean(axis=1), dy.mean(axis=1), dx.std(axis=1, ddof=1) / n,
                      dy.std(axis=1, ddof=1) / n)
