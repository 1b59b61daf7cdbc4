"""Bad-input rows for beamkit.tracking (checked before any xtrack call)."""

import numpy as np

from beamkit import lattices, tracking
from beamkit.errors import InputError

_CELL = lattices.fodo_cell(20.0, 8.0)
_LINE = []  # built once, on first use (xtrack is slow to import)


def _line():
    if not _LINE:
        _LINE.append(_CELL.to_xtrack())
    return _LINE[0]


def _turns(n_turns=3, **coords):
    return lambda: tracking.track_turns(_line(), n_turns, **coords)


CASES = [
    ("turns-fraction", lambda: tracking.track_turns(None, 2.5), InputError, ["n_turns", "2.5", "integer"]),
    ("turns-zero", lambda: tracking.track_turns(None, 0), InputError, ["n_turns", ">= 1"]),
    ("thin-slices-zero", lambda: tracking.thin_line(None, 0), InputError, ["slices", "at least 1"]),
    ("pass-unknown-key", lambda: tracking.track_pass(None, {"x": [0.0], "dp": [0.0]}), InputError,
     ["coordinates", "dp"]),
    ("turns-nan", lambda: tracking.track_turns(_CELL.to_xtrack(), 3, x=[np.nan]), InputError, ["x", "nan"]),
    # issue 16
    ("turns-x-empty", _turns(x=[]), InputError, ["x", "at least 1 element"]),
    ("turns-lengths", _turns(x=[0.0, 1e-3], px=[0.0, 0.0, 0.0]), InputError, ["broadcast", "(2,)", "(3,)"]),
    ("turns-negative", _turns(n_turns=-1), InputError, ["n_turns", ">= 1"]),
    ("turns-float", _turns(n_turns=2.5), InputError, ["n_turns", "2.5", "integer"]),
    ("turns-string", _turns(n_turns="10"), InputError, ["n_turns", "integer"]),
    ("turns-delta-below-minus-one", _turns(x=1e-3, delta=-1.5), InputError, ["delta", "> -1"]),
    ("turns-complex", _turns(x=[1e-3j]), InputError, ["x", "complex"]),
    ("turns-line-none", lambda: tracking.track_turns(None, 3), InputError, ["line", "xtrack.line"]),
    ("turns-line-wrong-type", lambda: tracking.track_turns(_CELL, 3), InputError, ["line", "xtrack.line"]),
    ("pass-not-mapping", lambda: tracking.track_pass(_line(), [0.0]), InputError, ["coordinates", "mapping"]),
    ("pass-x-empty", lambda: tracking.track_pass(_line(), {"x": []}), InputError, ["x", "at least 1"]),
    ("pass-line-string", lambda: tracking.track_pass("fodo", {"x": [0.0]}), InputError,
     ["line", "xtrack.line"]),
    ("turns-memory", _turns(n_turns=10**9, x=np.zeros(1000)), InputError,
     ["n_turns", "gib", "memory", "fewer turns"]),
    ("thin-line-none", lambda: tracking.thin_line(None, 1), InputError, ["line", "xtrack.line"]),
]
