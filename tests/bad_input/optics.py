"""Bad-input rows for beamkit.optics."""

from beamkit import lattices, optics
from beamkit.errors import InputError

_CELL = lattices.fodo_cell(20.0, 8.0)

CASES = [
    ("matrices-step-negative", lambda: optics.twiss_matrices(_CELL, max_step_m=-1.0), InputError,
     ["max_step_m", "> 0"]),
    ("matrices-delta-step-large", lambda: optics.twiss_matrices(_CELL, delta_step=0.5), InputError,
     ["delta_step", "<= 0.01"]),
    ("compare-empty", lambda: optics.compare({}), InputError, ["results", "empty"]),
    ("compare-not-optics", lambda: optics.compare({"a": {"q_x": 0.3}}), InputError, ["results", "optics"]),
    ("xtrack-method", lambda: optics.twiss_xtrack(None, method="5d"), InputError, ["method", "'4d'"]),
]
