"""Bad-input rows for beamkit.fits."""

import numpy as np

from beamkit.errors import IllConditionedError, InputError
from beamkit.fits import fit_polynomial

X = np.linspace(0.0, 1.0, 5)

CASES = [
    ("fit-shape", lambda: fit_polynomial(X, np.ones(4), 1), InputError, ["y", "(4,)", "(5,)"]),
    ("fit-nan", lambda: fit_polynomial(X, [1.0, np.nan, 1.0, 1.0, 1.0], 1), InputError, ["y", "nan"]),
    ("fit-degree-fraction", lambda: fit_polynomial(X, X, 1.5), InputError, ["degree", "1.5"]),
    ("fit-too-few-points", lambda: fit_polynomial(X, X, 4), InputError, ["degree", "points"]),
    ("fit-sigma-zero", lambda: fit_polynomial(X, X, 1, sigma=0.0), InputError, ["sigma", "> 0"]),
    ("fit-repeated-x", lambda: fit_polynomial(np.ones(5), X, 1), IllConditionedError, ["x", "distinct"]),
    ("fit-sigma-string", lambda: fit_polynomial(X, X, 1, sigma="0.1"), InputError, ["sigma", "str"]),
    ("fit-sigma-length", lambda: fit_polynomial(X, X, 1, sigma=[1.0, 1.0]), InputError, ["sigma", "(2,)"]),
]
