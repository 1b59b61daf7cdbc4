"""Bad-input rows for beamkit.bpm."""

import math

import numpy as np

from beamkit import bpm
from beamkit.errors import IllConditionedError, InputError

A, PHI0 = 0.04, math.pi / 3
BX = np.array([30.0, 7.0, 31.0, 6.0, 29.0])
BY = np.array([5.0, 20.0, 6.0, 21.0, 5.5])
D = np.array([2.0, 1.0, 2.2, 1.1, 1.9])
QT = BX * 1e-6 - BY * 1e-6 + D**2 * 1e-6


def _fit(**kw):
    args = {"beta_x_m": BX, "beta_y_m": BY, "dispersion_x_m": D, "quad_term_m2": QT}
    args.update(kw)
    return lambda: bpm.fit_emittances(**args)


def _optics():
    n = 6
    z = np.zeros(n)
    return bpm.BpmOptics(tuple(f"bpm_{k}{i}" for i in range(3) for k in "sl"), z, np.tile([30.0, 7.0], 3),
                         np.tile([5.0, 20.0], 3), np.tile([2.0, 1.0], 3), z, z, 6.7, 5.8, 0.03, 5.8, "test")


def _ramp(signals, sigma_p2, **kw):
    return bpm.analyse_ramp(signals, _optics(), A, PHI0, sigma_p2, **kw)


CASES = [
    ("plate-outside-pipe", lambda: bpm.plate_signals(0.05, 0.0, A, PHI0), InputError,
     ["x", "outside", "radius"]),
    ("plate-angle-too-large", lambda: bpm.plate_signals(0.0, 0.0, A, 2.0), InputError,
     ["plate_angle_rad", "<= 1.5708"]),
    ("plate-radius-negative", lambda: bpm.plate_signals(0.0, 0.0, -0.04, PHI0), InputError,
     ["radius_m", "> 0"]),
    ("plate-nan", lambda: bpm.plate_signals([0.0, np.nan], [0.0, 0.0], A, PHI0), InputError,
     ["x", "nan"]),
    ("plate-mismatched", lambda: bpm.plate_signals([0.0, 0.001], [0.0], A, PHI0), InputError,
     ["y", "(1,)", "(2,)"]),
    ("plate-negative-weights", lambda: bpm.plate_signals([0.0, 0.001], [0.0, 0.0], A, PHI0, weights=[1, -1]),
     InputError, ["weights", ">= 0"]),
    ("gaussian-too-large", lambda: bpm.gaussian_signals(0.0, 0.0, 0.01, A, PHI0), InputError,
     ["x_bar_m", "does not fit"]),
    ("modes-mismatched", lambda: bpm.modes([1.0, 1.0], [1.0], [1.0, 1.0], [1.0, 1.0]), InputError,
     ["L", "(1,)"]),
    ("modes-zero-sum", lambda: bpm.modes(0.0, 0.0, 0.0, 0.0), InputError, ["R + L + T + B", "zero"]),
    ("modes-half-geometry", lambda: bpm.modes(1.0, 1.0, 1.0, 1.0, radius_m=A), InputError,
     ["plate_angle_rad", "missing"]),
    ("modes-nan", lambda: bpm.modes(np.nan, 1.0, 1.0, 1.0), InputError, ["R", "nan"]),
    ("fit-nan-beta", _fit(beta_x_m=np.array([30.0, np.nan, 31.0, 6.0, 29.0])), InputError,
     ["beta_x_m", "nan", "index (1,)"]),
    ("fit-nan-quad", _fit(quad_term_m2=np.array([1e-5, np.nan, 1e-5, 1e-5, 1e-5])), InputError,
     ["quad_term_m2", "nan"]),
    ("fit-two-bpms", _fit(beta_x_m=BX[:2], beta_y_m=BY[:2], dispersion_x_m=D[:2], quad_term_m2=QT[:2]),
     InputError, ["beta_x_m", "at least 3"]),
    ("fit-negative-beta", _fit(beta_y_m=-BY), InputError, ["beta_y_m", "> 0"]),
    ("fit-mismatched", _fit(dispersion_x_m=D[:4]), InputError, ["dispersion_x_m", "(4,)", "(5,)"]),
    ("fit-no-dof", _fit(beta_x_m=BX[:3], beta_y_m=BY[:3], dispersion_x_m=D[:3], quad_term_m2=QT[:3]),
     InputError, ["quad_term_m2", "degree of freedom", "sigma"]),
    ("fit-negative-sigma-p2", _fit(sigma_p2=-1e-6), InputError, ["sigma_p2", ">= 0"]),
    ("fit-zero-sigma", _fit(sigma=np.zeros(5)), InputError, ["sigma", "> 0"]),
    ("fit-rank-two", _fit(beta_x_m=np.tile([30.0, 7.0], 3), beta_y_m=np.tile([5.0, 20.0], 3),
                          dispersion_x_m=np.tile([2.0, 1.0], 3), quad_term_m2=np.full(6, 1e-5)),
     IllConditionedError, ["condition number", "sigma_p2"]),
    ("fit-no-dispersion", _fit(dispersion_x_m=np.zeros(5)), IllConditionedError,
     ["dispersion_x_m", "sigma_p2"]),
    ("ring-modulation", lambda: bpm.booster_like_ring(modulation_rel=-0.1), InputError,
     ["modulation_rel", ">= 0"]),
    ("ring-errors-length", lambda: bpm.booster_like_ring(quad_errors_rel=np.zeros(10)), InputError,
     ["quad_errors_rel", "shape (48)"]),
    ("optics-not-lattice", lambda: bpm.bpm_optics("booster"), InputError, ["lattice", "Lattice"]),
    ("truth-one-turn", lambda: bpm.ramp_truth(1), InputError, ["n_turns", ">= 2"]),
    ("truth-negative-eps", lambda: bpm.ramp_truth(10, eps_n_x_m=-1e-6), InputError, ["eps_n_x_m", "> 0"]),
    ("machine-not-optics", lambda: bpm.make_machine(None), InputError, ["optics", "BpmOptics"]),
    ("growth-not-analysis", lambda: bpm.ramp_growth(None, None), InputError, ["analysis", "RampAnalysis"]),
    ("ramp-signals-shape", lambda: _ramp(np.ones((10, 5, 4)), 1e-6), InputError,
     ["signals", "(any, 6, 4)"]),
    ("ramp-sigma-p2-length", lambda: _ramp(np.ones((10, 6, 4)), np.ones(3) * 1e-6),
     InputError, ["sigma_p2", "10 values"]),
    ("ramp-gains-zero", lambda: _ramp(np.ones((10, 6, 4)), 1e-6, gains=np.zeros((6, 4))), InputError,
     ["gains", "> 0"]),
    ("ramp-bin-too-large", lambda: _ramp(np.ones((10, 6, 4)), 1e-6, turns_per_bin=11), InputError,
     ["turns_per_bin", "<= 10"]),
]
