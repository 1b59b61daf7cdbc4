"""Bad-input rows for beamkit.chromaticity."""

import numpy as np

from beamkit import chromaticity as ch
from beamkit.errors import IllConditionedError, InputError

CASES = [
    ("thin-formula-unstable", lambda: ch.fodo_thin_lens_chromaticity(0.5), InputError, ["q", "0.5"]),
    ("thin-formula-negative", lambda: ch.fodo_thin_lens_chromaticity(-0.1), InputError, ["q", "> 0"]),
    ("response-shape", lambda: ch.sextupole_thin_lens_response([10.0, 20.0], [10.0], [1.0, 1.0], 1.0),
     InputError, ["beta_y_m", "shape"]),
    ("response-beta-negative", lambda: ch.sextupole_thin_lens_response([-1.0], [10.0], [1.0], 1.0),
     InputError, ["beta_x_m", "> 0"]),
    ("fit-order", lambda: ch.fit_chromaticity(np.linspace(-1e-3, 1e-3, 5), np.ones(5), order=0),
     InputError, ["order", ">= 1"]),
    ("fit-plane", lambda: ch.fit_chromaticity(np.linspace(-1e-3, 1e-3, 5), np.ones(5), plane="z"),
     InputError, ["plane", "'z'"]),
    ("fit-shapes", lambda: ch.fit_chromaticity(np.linspace(-1e-3, 1e-3, 5), np.ones(4)),
     InputError, ["tunes", "shape"]),
    ("fit-too-few", lambda: ch.fit_chromaticity([0.0, 1e-4], [0.3, 0.31]), InputError,
     ["deltas", "at least 3"]),
    ("fit-degenerate", lambda: ch.fit_chromaticity([1e-4] * 5, [0.3] * 5), IllConditionedError,
     ["deltas", "spread"]),
    ("fit-nan", lambda: ch.fit_chromaticity([0.0, 1e-4, np.nan], [0.3, 0.31, 0.32]), InputError,
     ["deltas", "nan"]),
]
