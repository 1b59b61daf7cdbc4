"""Bad-input rows for the spectral functions of beamkit.tune (naff, tunes)."""

import numpy as np

from beamkit import tune
from beamkit.errors import InputError

_X = np.cos(2 * np.pi * 0.31 * np.arange(64))[None, :].repeat(2, axis=0)

CASES = [
    ("naff-short", lambda: tune.naff(np.ones(5)), InputError, ["signal", "at least 13"]),
    ("naff-nan", lambda: tune.naff(np.full(100, np.nan)), InputError, ["signal", "nan", "lost"]),
    ("naff-constant", lambda: tune.naff(np.ones(100)), InputError, ["signal", "constant"]),
    ("naff-2d", lambda: tune.naff(np.ones((2, 100))), InputError, ["signal", "shape (2, 100)"]),
    ("tunes-short", lambda: tune.tunes(np.ones((2, 8))), InputError, ["x", "at least 16"]),
    ("tunes-3d", lambda: tune.tunes(np.ones((2, 2, 32))), InputError, ["x", "shape"]),
    ("tunes-no-twiss", lambda: tune.tunes(_X, _X), InputError, ["beta", "alpha"]),
    ("tunes-px-shape", lambda: tune.tunes(_X, _X[:, :10], 30.0, -1.2), InputError, ["px", "(2, 10)"]),
    ("tunes-complex", lambda: tune.tunes(_X * 1j), InputError, ["x", "complex"]),
    ("tunes-beta-negative", lambda: tune.tunes(_X, _X, -30.0, 0.0), InputError, ["beta", "> 0"]),
]
