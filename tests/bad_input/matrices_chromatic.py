"""Bad-input rows for the chromatic terms of beamkit.matrices (issue 9, points 9 and 10).

A separate file from any ``matrices.py`` rows so that the two merge without conflict.
"""

from beamkit import lattices
from beamkit import matrices as mx
from beamkit.errors import InputError

OPTICS = {"beta_x_m": 170.0, "alpha_x": -2.1, "beta_y_m": 33.0, "alpha_y": 0.6,
          "dispersion_m": 2.0, "dispersion_prime": 0.03}
ORBIT = {"dispersion_m": 1.0, "dispersion_prime": 0.0}

CASES = [
    ("bend-angle-above-pi", lambda: mx.sector_bend_chromatic_terms(4.0, 1.0, **OPTICS), InputError,
     ["angle_rad", "4", "<= 3.14159"]),
    ("bend-zero-length", lambda: mx.sector_bend_chromatic_terms(0.1, 0.0, **OPTICS), InputError,
     ["length_m", "> 0"]),
    ("bend-negative-beta", lambda: mx.sector_bend_chromatic_terms(0.1, 1.0, **{**OPTICS, "beta_y_m": -3.0}),
     InputError, ["beta_y_m", "-3", "> 0"]),
    ("bend-nan-dispersion",
     lambda: mx.sector_bend_chromatic_terms(0.1, 1.0, **{**OPTICS, "dispersion_m": float("nan")}),
     InputError, ["dispersion_m", "nan"]),
    ("sextupole-string-k2", lambda: mx.sextupole_chromatic_terms("0.1", 1.0, **OPTICS), InputError,
     ["k2", "str"]),
    ("sextupole-negative-length", lambda: mx.sextupole_chromatic_terms(0.1, -1.0, **OPTICS), InputError,
     ["length_m", ">= 0"]),
    ("sextupole-zero-beta", lambda: mx.sextupole_chromatic_terms(0.1, 1.0, **{**OPTICS, "beta_x_m": 0.0}),
     InputError, ["beta_x_m", "> 0"]),
    ("orbit-bend-plane", lambda: mx.sector_bend_about_orbit(0.1, 1.0, "z", 1e-3, **ORBIT), InputError,
     ["plane", "'z'"]),
    ("orbit-bend-delta", lambda: mx.sector_bend_about_orbit(0.1, 1.0, "x", -1.0, **ORBIT), InputError,
     ["delta", "> -1"]),
    ("orbit-sextupole-inf-d", lambda: mx.sextupole_about_orbit(0.1, 1.0, "x", 1e-3, dispersion_m=float("inf"),
                                                              dispersion_prime=0.0), InputError,
     ["dispersion_m", "finite"]),
    ("lattice-off-momentum-large-delta", lambda: lattices.lhc_fodo_cell().off_momentum_matrices("x", 0.1),
     InputError, ["delta", "0.1", "<= 0.01", "first order"]),
]
