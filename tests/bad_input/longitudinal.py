"""Bad-input rows for beamkit.longitudinal."""

import numpy as np

from beamkit import lattices
from beamkit import longitudinal as lg
from beamkit.errors import InputError

CASES = [
    ("slip-gamma-below-one", lambda: lg.slip_factor(4e-4, 0.99), InputError, ["gamma0", ">= 1", "lorentz"]),
    ("slip-gamma-nan", lambda: lg.slip_factor(4e-4, np.nan), InputError, ["gamma0", "nan"]),
    ("slip-alpha-array", lambda: lg.slip_factor(np.ones(2), 10.0), InputError, ["alpha_c", "single number"]),
    ("transition-alpha-string", lambda: lg.transition_gamma("4e-4"), InputError, ["alpha_c", "str"]),
    ("transition-alpha-nan", lambda: lg.transition_gamma(np.nan), InputError, ["alpha_c", "nan"]),
    ("slip-alpha-inf", lambda: lg.slip_factor(np.inf, 10.0), InputError, ["alpha_c", "finite"]),
    ("slip-gamma-array-nan", lambda: lg.slip_factor(4e-4, [10.0, np.nan]), InputError,
     ["gamma0", "nan", "index (1,)"]),
    ("slip-gamma-complex", lambda: lg.slip_factor(4e-4, 10.0 + 1j), InputError, ["gamma0", "complex"]),
    ("compaction-not-lattice", lambda: lg.momentum_compaction_from_matrices(None), InputError,
     ["lattice", "none"]),
    ("compaction-thin-string", lambda: lg.momentum_compaction_from_matrices(
        lattices.lhc_fodo_cell(), thin="False"), InputError, ["thin", "true or false"]),
]
