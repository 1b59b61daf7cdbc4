"""Bad-input rows for the shared validation helpers (beamkit._validate)."""

import numpy as np

from beamkit import _validate as v
from beamkit.errors import InputError

CASES = [
    ("scalar-nan", lambda: v.scalar("beta_x_m", float("nan")), InputError, ["beta_x_m", "nan", "finite"]),
    ("scalar-inf", lambda: v.scalar("beta_x_m", np.inf), InputError, ["beta_x_m", "finite"]),
    ("scalar-bool", lambda: v.scalar("length_m", True), InputError, ["length_m", "real number"]),
    ("scalar-complex", lambda: v.scalar("k1", 1j), InputError, ["k1", "complex"]),
    ("scalar-string", lambda: v.scalar("k1", "0.1"), InputError, ["k1", "str"]),
    ("scalar-array", lambda: v.scalar("k1", np.ones(3)), InputError, ["k1", "single number"]),
    ("scalar-negative", lambda: v.scalar("length_m", -1.0, positive=True, unit="m"), InputError,
     ["length_m", "> 0"]),
    ("integer-fraction", lambda: v.integer("n_turns", 2.7), InputError, ["n_turns", "2.7", "integer"]),
    ("integer-small", lambda: v.integer("n_turns", 3, minimum=16), InputError, ["n_turns", ">= 16"]),
    ("array-complex", lambda: v.array("x", np.ones(4) * 1j), InputError, ["x", "complex"]),
    ("array-nan", lambda: v.array("x", [1.0, np.nan]), InputError, ["x", "nan", "index (1,)"]),
    ("array-shape", lambda: v.array("x", np.ones((2, 3)), ndim=1), InputError, ["x", "shape (2, 3)"]),
    ("array-ragged", lambda: v.array("x", [[1, 2], [3]]), InputError, ["x"]),
    ("same-shape", lambda: v.same_shape(x=np.ones(3), px=np.ones(4)), InputError, ["px", "(4,)", "(3,)"]),
    ("memory", lambda: v.fits_in_memory("n_turns", 10**12, 2.0**80, "a record", "track fewer turns"),
     InputError, ["n_turns", "gib", "memory", "fewer turns"]),
    ("choice", lambda: v.choice("plane", "z", ("x", "y")), InputError, ["plane", "'z'", "'x'"]),
]
