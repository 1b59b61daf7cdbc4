"""Bad-input rows for beamkit.beam."""

import numpy as np

from beamkit import beam
from beamkit.errors import InputError

_TWISS = dict(beta_x_m=10.0, alpha_x=0.0, eps_x_m=1e-6, beta_y_m=10.0, alpha_y=0.0, eps_y_m=1e-6,
              sigma_delta=1e-3)


def _gauss(n=10, **kw):
    return lambda: beam.matched_gaussian(n, **{**_TWISS, **kw})


CASES = [
    ("gaussian-n-fraction", lambda: beam.matched_gaussian(10.5, **_TWISS), InputError,
     ["n_particles", "10.5"]),
    ("gaussian-beta-negative", lambda: beam.matched_gaussian(10, **{**_TWISS, "beta_x_m": -1.0}), InputError,
     ["beta_x_m", "> 0"]),
    ("gaussian-eps-negative", lambda: beam.matched_gaussian(10, **{**_TWISS, "eps_y_m": -1e-6}), InputError,
     ["eps_y_m", ">= 0"]),
    ("gaussian-dispersion-nan", lambda: beam.matched_gaussian(10, **_TWISS, dispersion_x_m=np.nan),
     InputError, ["dispersion_x_m", "finite"]),
    ("moments-shape", lambda: beam.moments(np.zeros(5), np.zeros(4)), InputError, ["px", "shape"]),
    ("moments-plane", lambda: beam.moments(np.zeros(5), np.zeros(5), plane="z"), InputError,
     ["plane", "'z'"]),
    ("moments-too-few", lambda: beam.moments([1.0, np.nan], [0.0, 0.0]), InputError, ["x", "at least 3"]),
    ("moments-delta-shape", lambda: beam.moments(np.zeros(5), np.zeros(5), np.zeros(4)), InputError,
     ["delta", "shape"]),
    ("beam-moments-delta-nan-all", lambda: beam.beam_moments(np.zeros(5), np.zeros(5), np.full(5, np.nan)),
     InputError, ["x", "at least 3"]),
    ("moments-inf", lambda: beam.moments([1.0, np.inf, 2.0], [0.0, 0.0, 0.0]), InputError, ["x", "infinite"]),
    # issue 16
    ("gaussian-alpha-nan", _gauss(alpha_x=np.nan), InputError, ["alpha_x", "nan", "finite"]),
    ("gaussian-beta-inf", _gauss(beta_y_m=np.inf), InputError, ["beta_y_m", "inf", "finite"]),
    ("gaussian-n-2.7", _gauss(n=2.7), InputError, ["n_particles", "2.7", "not truncated"]),
    ("gaussian-n-zero", _gauss(n=0), InputError, ["n_particles", ">= 1"]),
    ("gaussian-beta-zero", _gauss(beta_x_m=0.0), InputError, ["beta_x_m", "> 0"]),
    ("gaussian-sigma-delta-negative", _gauss(sigma_delta=-1e-3), InputError, ["sigma_delta", ">= 0"]),
    ("gaussian-alpha-complex", _gauss(alpha_y=1j), InputError, ["alpha_y", "complex"]),
    ("gaussian-seed-string", _gauss(seed="abc"), InputError, ["seed", "integer"]),
    ("gaussian-seed-negative", _gauss(seed=-1), InputError, ["seed", ">= 0"]),
    ("gaussian-seed-fraction", _gauss(seed=2.5), InputError, ["seed", "2.5"]),
    ("moments-complex", lambda: beam.moments(np.ones(5) * 1j, np.zeros(5)), InputError, ["x", "complex"]),
    ("moments-delta-shape", lambda: beam.moments(np.zeros(5), np.zeros(5), np.zeros(4)), InputError,
     ["delta", "shape"]),
]
