"""Bad-input rows for beamkit.tracking (checked before any xtrack call)."""

import numpy as np

from beamkit import lattices, tracking
from beamkit.errors import InputError

_CELL = lattices.fodo_cell(20.0, 8.0)

CASES = [
    ("turns-fraction", lambda: tracking.track_turns(None, 2.5), InputError, ["n_turns", "2.5", "integer"]),
    ("turns-zero", lambda: tracking.track_turns(None, 0), InputError, ["n_turns", ">= 1"]),
    ("thin-slices-zero", lambda: tracking.thin_line(None, 0), InputError, ["slices", "at least 1"]),
    ("pass-unknown-key", lambda: tracking.track_pass(None, {"x": [0.0], "dp": [0.0]}), InputError,
     ["coordinates", "dp"]),
    ("turns-nan", lambda: tracking.track_turns(_CELL.to_xtrack(), 3, x=[np.nan]), InputError, ["x", "nan"]),
]
