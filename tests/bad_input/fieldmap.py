"""Bad-input rows for beamkit.fieldmap.track (and the thread helper it uses)."""

import numpy as np

from beamkit import _threads
from beamkit.errors import FieldMapError, InputError
from beamkit.fieldmap import FieldMap, track

_ax = np.linspace(-0.01, 0.01, 5)
_z = np.linspace(0.0, 0.4, 5)
_B = np.zeros((5, 5, 5))
_MAP = FieldMap(_ax, _ax, _z, _B, _B + 0.1, _B)
_ONE = {"x": [0.0], "px": [0.0], "y": [0.0], "py": [0.0]}


def _track(**kw):
    args = {"fieldmap": _MAP, "particles": _ONE, "z_start": 0.0, "z_end": 0.4, "n_steps": 4,
            "p0c": 1e9, "q0": 1.0}
    args.update(kw)
    return lambda: track(**args)


CASES = [
    ("track-method", _track(method="euler"), InputError, ["method", "euler", "rk4"]),
    ("track-interpolation", _track(interpolation="spline"), InputError,
     ["interpolation", "spline", "tricubic"]),
    ("track-n-steps-zero", _track(n_steps=0), InputError, ["n_steps", ">= 1"]),
    ("track-n-steps-fraction", _track(n_steps=2.5), InputError, ["n_steps", "2.5", "integer"]),
    ("track-z-outside", _track(z_end=0.5), FieldMapError, ["z_end", "outside", "z range"]),
    ("track-z-nan", _track(z_start=float("nan")), InputError, ["z_start", "finite"]),
    ("track-p0c-missing", _track(p0c=None), InputError, ["p0c", "required"]),
    ("track-p0c-negative", _track(p0c=-1e9), InputError, ["p0c", "> 0"]),
    ("track-q0-zero", _track(q0=0.0), InputError, ["q0", "neutral"]),
    ("track-missing-key", _track(particles={"x": [0.0]}), InputError, ["particles", "px"]),
    ("track-shape", _track(particles={**_ONE, "px": [0.0, 1.0]}), InputError,
     ["particles['px']", "(2,)", "(1,)"]),
    ("track-complex", _track(particles={**_ONE, "x": [1j]}), InputError, ["particles['x']", "complex"]),
    ("track-not-mapping", _track(particles=[0.0, 0.0]), InputError, ["particles", "mapping"]),
    ("track-record-every", _track(record_every=-2), InputError, ["record_every", ">= 1"]),
    ("threads-zero", lambda: _threads.set_num_threads(0), InputError, ["n", ">= 1"]),
]
