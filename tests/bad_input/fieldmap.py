"""Bad-input rows for beamkit.fieldmap (FieldMap, track, frames, fits, scans) and the thread
helper it uses."""

import os
import tempfile
from concurrent.futures import Executor, Future

import numpy as np

from beamkit import _threads
from beamkit.errors import FieldMapError, InputError
from beamkit.fieldmap import (
    FieldMap,
    FramePlane,
    LinearExcitation,
    enge,
    feed_down,
    find_reference_orbit,
    fit_multipoles,
    scan_current,
    synthetic_combined_function_magnet,
    to_map_frame,
    track,
)

_ax = np.linspace(-0.01, 0.01, 5)
_z = np.linspace(0.0, 0.4, 5)
_B = np.zeros((5, 5, 5))
_MAP = FieldMap(_ax, _ax, _z, _B, _B + 0.1, _B)
_ONE = {"x": [0.0], "px": [0.0], "y": [0.0], "py": [0.0]}
_HUNDRED = {k: np.zeros(100) for k in ("x", "px", "y", "py")}


def _track(**kw):
    args = {"fieldmap": _MAP, "particles": _ONE, "z_start": 0.0, "z_end": 0.4, "n_steps": 4,
            "p0c": 1e9, "q0": 1.0}
    args.update(kw)
    return lambda: track(**args)


def _xt(**kw):
    """An xt.Particles built at call time (xtrack is imported only when the row runs)."""
    def call():
        import xtrack as xt

        return track(_MAP, xt.Particles(**{"p0c": 1e9, "x": [0.0, 1e-3], **kw}), 0.0, 0.4, 4)
    return call


def _corrupt(suffix, content=b"not a field map"):
    def call():
        path = os.path.join(tempfile.mkdtemp(prefix="bad16b_"), f"map{suffix}")
        with open(path, "wb") as f:
            f.write(content)
        return FieldMap.load(path)
    return call


class _Inline(Executor):
    """Runs each scan point at once in this process (no worker is started)."""

    def submit(self, fn, /, *args, **kwargs):
        f = Future()
        try:
            f.set_result(fn(*args, **kwargs))
        except Exception as exc:  # noqa: BLE001 - handed to the caller through the future
            f.set_exception(exc)
        return f


def _at_current(current_a):
    return _MAP.scaled(current_a / 100.0, current_a=current_a)


def _scan(currents=(100.0,), **kw):
    args = {"z_start": 0.0, "z_end": 0.4, "n_steps": 4, "p0c": 1e9, "q0": 1.0,
            "executor": _Inline(), "progress": False}
    args.update(kw)
    particles = args.pop("particles", _ONE)
    return lambda: scan_current(currents, _at_current, particles, **args)


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
    # issue 16: momentum, charge, reference, memory
    ("track-delta-below-minus-one", _track(particles={**_ONE, "delta": [-1.5]}), InputError,
     ["particles['delta']", "-1.5", "> -1"]),
    ("track-delta-minus-one", _track(particles={**_ONE, "delta": [-1.0]}), InputError,
     ["particles['delta']", "<= -1"]),
    ("track-p0c-nan", _track(p0c=float("nan")), InputError, ["p0c", "finite"]),
    ("track-q0-nan", _track(q0=float("nan")), InputError, ["q0", "finite"]),
    ("track-n-steps-2.9", _track(n_steps=2.9), InputError, ["n_steps", "2.9", "not truncated"]),
    ("track-record-every-fraction", _track(record_every=1.5), InputError, ["record_every", "1.5"]),
    ("track-record-300-gib", _track(particles=_HUNDRED, n_steps=10**8, record_every=1), InputError,
     ["record_every", "gib", "memory", "record less often"]),
    ("track-x-infinite", _track(particles={**_ONE, "x": [np.inf]}), InputError,
     ["particles['x']", "infinite"]),
    ("xt-delta-below-minus-one", _xt(delta=-1.5), InputError, ["particles.delta", "<= -1"]),
    ("xt-p0c-nan", _xt(p0c=float("nan")), InputError, ["particles.p0c", "nan"]),
    ("xt-p0c-negative", _xt(p0c=-1e9), InputError, ["particles.p0c", "> 0"]),
    ("xt-neutral", _xt(q0=0.0), InputError, ["charge", "neutral"]),
    ("xt-with-p0c-keyword", lambda: track(_MAP, __import__("xtrack").Particles(p0c=1e9), 0.0, 0.4, 4,
                                          p0c=1e9), InputError, ["p0c", "xt.particles"]),
    # FieldMap construction, files, interpolation
    ("map-complex-field", lambda: FieldMap(_ax, _ax, _z, _B, _B + 0.1j, _B), FieldMapError,
     ["by", "complex"]),
    ("map-current-nan", lambda: FieldMap(_ax, _ax, _z, _B, _B, _B, current_a=float("nan")), InputError,
     ["current_a", "finite"]),
    ("map-load-corrupt-npz", _corrupt(".npz"), FieldMapError, ["map.npz", "cannot be read", "corrupt"]),
    ("map-load-truncated-npz", _corrupt(".npz", b"PK\x03\x04truncated"), FieldMapError,
     ["cannot be read", "corrupt"]),
    ("map-load-corrupt-h5", _corrupt(".h5"), FieldMapError, ["map.h5", "cannot be read"]),
    ("map-field-outside-option", lambda: _MAP.field(0.0, 0.0, 0.1, outside="clip"), InputError,
     ["outside", "'clip'", "'nan'"]),
    ("map-field-interpolation", lambda: _MAP.field(0.0, 0.0, 0.1, interpolation="spline"), InputError,
     ["interpolation", "spline", "tricubic"]),
    ("map-field-shapes", lambda: _MAP.field(np.zeros(3), np.zeros(2), 0.1), InputError,
     ["x, y, z", "broadcast"]),
    ("map-field-complex", lambda: _MAP.field(1j * 1e-3, 0.0, 0.1), InputError, ["x", "complex"]),
    ("map-scaled-nan", lambda: _MAP.scaled(float("nan")), InputError, ["factor", "finite"]),
    ("map-to-table-unit", lambda: _MAP.to_table(os.devnull, length_unit="inch"), FieldMapError,
     ["unknown length unit", "inch"]),
    # scans
    ("scan-currents-empty", _scan(currents=[]), InputError, ["currents", "empty"]),
    ("scan-currents-nan", _scan(currents=[np.nan]), InputError, ["currents", "nan"]),
    ("scan-no-z", _scan(z_start=None), InputError, ["z_start", "reference orbit"]),
    ("scan-no-p0c", _scan(p0c=None), InputError, ["p0c", "reference orbit"]),
    ("scan-neutral", _scan(q0=0.0), InputError, ["q0", "neutral"]),
    ("scan-n-steps-fraction", _scan(n_steps=2.9), InputError, ["n_steps", "2.9", "integer"]),
    ("scan-method", _scan(method="euler"), InputError, ["method", "euler"]),
    ("scan-particle-lengths", _scan(particles={**_ONE, "px": [0.0, 0.0]}), InputError,
     ["particles['px']", "shape"]),
    ("scan-not-callable", lambda: scan_current([1.0], _MAP, _ONE, z_start=0.0, z_end=0.4, n_steps=4,
                                               p0c=1e9, q0=1.0, executor=_Inline(), progress=False),
     InputError, ["fieldmap_at_current", "not callable"]),
    ("excitation-no-current", lambda: LinearExcitation(_MAP, _MAP)(5.0), InputError,
     ["current_a", "nominal"]),
    # models, fits, frames
    ("synthetic-remanent-shape", lambda: synthetic_combined_function_magnet(remanent=(0.0, 0.0)),
     InputError, ["remanent", "(b0, b1, b2, b3)"]),
    ("synthetic-length-negative", lambda: synthetic_combined_function_magnet(length_m=-2.0), InputError,
     ["length_m", "> 0"]),
    ("synthetic-nominal-zero", lambda: synthetic_combined_function_magnet(nominal_current_a=0.0),
     InputError, ["nominal_current_a", "0"]),
    ("enge-gap-zero", lambda: enge(np.zeros(3), 1.0, 0.0), InputError, ["gap_m", "> 0"]),
    ("enge-derivatives-fraction", lambda: enge(np.zeros(3), 1.0, 0.1, derivatives=1.5), InputError,
     ["derivatives", "1.5"]),
    ("feed-down-nan", lambda: feed_down(np.ones((3, 2)), np.nan), InputError, ["dx_m", "nan"]),
    ("feed-down-shape", lambda: feed_down(np.ones((3, 2)), np.zeros(5)), InputError, ["dx_m", "(5,)"]),
    ("fit-order-below-max", lambda: fit_multipoles(_MAP, 3, fit_order=2), InputError,
     ["fit_order", "max_order"]),
    ("fit-max-order-fraction", lambda: fit_multipoles(_MAP, 2.5), InputError, ["max_order", "2.5"]),
    ("frame-delta-below-minus-one",
     lambda: to_map_frame({**_ONE, "delta": [-2.0]}, FramePlane(0.0, 0.0, 0.1)), InputError,
     ["coords", "forward momentum"]),
    ("frame-missing-key", lambda: to_map_frame({"x": [0.0]}, FramePlane(0.0, 0.0, 0.1)), InputError,
     ["coords", "px"]),
    ("orbit-x-entry-nan", lambda: find_reference_orbit(_MAP, 1e9, 1.0, x_entry=float("nan")), InputError,
     ["x_entry", "finite"]),
    ("orbit-n-steps-fraction", lambda: find_reference_orbit(_MAP, 1e9, 1.0, n_steps=7.5), InputError,
     ["n_steps", "7.5"]),
]
