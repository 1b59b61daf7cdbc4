"""Bad-input rows for beamkit.longitudinal."""

import numpy as np

from beamkit import longitudinal as lg
from beamkit.errors import InputError

CASES = [
    ("slip-gamma-below-one", lambda: lg.slip_factor(4e-4, 0.99), InputError, ["gamma0", ">= 1", "lorentz"]),
    ("slip-gamma-nan", lambda: lg.slip_factor(4e-4, np.nan), InputError, ["gamma0", "nan"]),
    ("slip-alpha-array", lambda: lg.slip_factor(np.ones(2), 10.0), InputError, ["alpha_c", "single number"]),
    ("transition-alpha-string", lambda: lg.transition_gamma("4e-4"), InputError, ["alpha_c", "str"]),
]
