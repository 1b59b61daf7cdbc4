"""Bad-input rows for the spectral functions of beamkit.tune (naff, tunes, normalised_signal)."""

import numpy as np

from beamkit import tune
from beamkit.errors import InputError

_X = np.cos(2 * np.pi * 0.31 * np.arange(64))[None, :].repeat(2, axis=0)
_P = -np.sin(2 * np.pi * 0.31 * np.arange(64))[None, :].repeat(2, axis=0)
_ROWS3 = np.cos(2 * np.pi * 0.31 * np.arange(64))[None, :].repeat(3, axis=0)

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
    # issue 16
    ("naff-n-terms-zero", lambda: tune.naff(_X[0], n_terms=0), InputError, ["n_terms", ">= 1"]),
    ("naff-window-negative", lambda: tune.naff(_X[0], window=-1), InputError, ["window", ">= 0"]),
    ("tunes-constant-zero-rows", lambda: tune.tunes(np.zeros((2, 64))), InputError,
     ["x", "constant", "no tune"]),
    ("tunes-constant-offset-row", lambda: tune.tunes(np.vstack([_X[0], np.full(64, 1e-3)])), InputError,
     ["x", "constant", "[1]"]),
    ("tunes-constant-complex-row", lambda: tune.tunes(np.vstack([_X[0], np.full(64, 2e-3)]),
                                                      np.vstack([_P[0], np.zeros(64)]), 1.0, 0.0),
     InputError, ["x, px", "constant", "closed orbit"]),
    ("tunes-px-complex", lambda: tune.tunes(_X, _P * 1j, 1.0, 0.0), InputError, ["px", "complex"]),
    ("tunes-beta-zero", lambda: tune.tunes(_X, _P, 0.0, 0.0), InputError, ["beta", "> 0"]),
    ("tunes-beta-array-nonpositive", lambda: tune.tunes(_ROWS3, _ROWS3, np.array([1.0, -2.0, 3.0]), 0.0),
     InputError, ["beta", "> 0"]),
    ("tunes-beta-nan", lambda: tune.tunes(_X, _P, np.nan, 0.0), InputError, ["beta", "nan"]),
    ("tunes-alpha-nan", lambda: tune.tunes(_X, _P, 1.0, np.nan), InputError, ["alpha", "nan"]),
    ("tunes-beta-length", lambda: tune.tunes(_ROWS3, _ROWS3, np.array([1.0, 2.0]), 0.0), InputError,
     ["beta", "2 values for 3 particles"]),
    ("tunes-twiss-without-px", lambda: tune.tunes(_X, None, 1.0, 0.0), InputError, ["px", "required"]),
    ("tunes-1d-lengths", lambda: tune.tunes(_X[0], _P[0, :50], 1.0, 0.0), InputError, ["px", "(1, 50)"]),
    ("tunes-chunk-zero", lambda: tune.tunes(_X, chunk=0), InputError, ["chunk", ">= 1"]),
    ("tunes-chunk-fraction", lambda: tune.tunes(_X, chunk=2.5), InputError, ["chunk", "2.5", "integer"]),
    ("tunes-n-newton-zero", lambda: tune.tunes(_X, n_newton=0), InputError, ["n_newton", ">= 1"]),
    ("signal-beta-negative", lambda: tune.normalised_signal(_X[0], _P[0], -1.0, 0.0), InputError,
     ["beta_m", "> 0"]),
    ("signal-lengths", lambda: tune.normalised_signal(_X[0], _P[0, :10], 1.0, 0.0), InputError,
     ["px", "(10,)", "(64,)"]),
    ("signal-complex", lambda: tune.normalised_signal(_X[0] * 1j, _P[0], 1.0, 0.0), InputError,
     ["x", "complex"]),
    ("signal-alpha-nan", lambda: tune.normalised_signal(_X[0], _P[0], 1.0, np.nan), InputError,
     ["alpha", "finite"]),
]
