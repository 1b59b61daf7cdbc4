"""Bad-input rows for beamkit.matrices (the matrix builders and Twiss propagation)."""

import numpy as np

from beamkit import matrices as mx
from beamkit.errors import InputError

CASES = [
    # quadrupole(nan) fell through both `k > 0` and `k < 0` and became a drift.
    ("quadrupole-k1-nan", lambda: mx.quadrupole(np.nan, 1.0), InputError, ["k1", "nan"]),
    ("quadrupole-length-negative", lambda: mx.quadrupole(0.1, -1.0), InputError, ["length_m", ">= 0"]),
    ("quadrupole-delta-minus-one", lambda: mx.quadrupole(0.1, 1.0, delta=-1.0), InputError,
     ["delta", "> -1"]),
    ("quadrupole-delta-nan", lambda: mx.quadrupole(0.1, 1.0, delta=np.nan), InputError, ["delta", "nan"]),
    ("thin-quadrupole-nan", lambda: mx.thin_quadrupole(np.nan), InputError, ["k1l", "nan"]),
    ("thin-quadrupole-delta-minus-one", lambda: mx.thin_quadrupole(0.1, delta=-1.0), InputError,
     ["delta", "> -1"]),
    ("bend-length-nan", lambda: mx.sector_bend(0.1, np.nan), InputError, ["length_m", "nan"]),
    ("bend-angle-nan", lambda: mx.sector_bend(np.nan, 1.0), InputError, ["angle_rad", "nan"]),
    ("bend-delta-below-minus-one", lambda: mx.sector_bend(0.1, 1.0, delta=-2.0), InputError,
     ["delta", "> -1"]),
    ("drift-nan", lambda: mx.drift(np.nan), InputError, ["length_m", "nan"]),
    ("drift-string", lambda: mx.drift("1.0"), InputError, ["length_m", "str"]),
    ("line-nan", lambda: mx.line_matrix([np.eye(3), np.full((3, 3), np.nan)]), InputError,
     ["matrices[1]", "nan"]),
    ("line-mixed-shapes", lambda: mx.line_matrix([np.eye(3), np.eye(2)]), InputError,
     ["matrices[1]", "shape (2, 2)", "(3, 3)"]),
    ("line-not-square", lambda: mx.line_matrix([np.ones((2, 3))]), InputError, ["matrices[0]", "2x2 or 3x3"]),
    ("propagate-twiss0-dict", lambda: mx.propagate_twiss([np.eye(3)], {"beta_m": 1.0}), InputError,
     ["twiss0", "periodictwiss"]),
    ("propagate-matrix-nan", lambda: mx.propagate_twiss([np.full((3, 3), np.nan)],
                                                        mx.periodic_twiss(mx.drift(1.0) @ mx.quadrupole(
                                                            0.5, 1.0))), InputError, ["matrices[0]", "nan"]),
    ("symplectic-vector", lambda: mx.is_symplectic(np.ones(3)), InputError, ["matrix", "dimension"]),
]
