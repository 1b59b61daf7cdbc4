"""Nothing mutates the caller's objects (issue 16): tune, fieldmap, beam, tracking.

Each public function that takes arrays, a line or particles is called on them, once with
good input and once with input that fails, and the caller's data are compared with copies
taken before: exactly equal (bit for bit), and the arrays still writeable.
"""

import copy

import numpy as np
import pytest

from beamkit import beam, lattices, tracking, tune
from beamkit.errors import BeamkitError
from beamkit.fieldmap import FieldMap, FramePlane, from_map_frame, scan_current, to_map_frame, track


def _snapshot(obj):
    if isinstance(obj, dict):
        return {k: _snapshot(v) for k, v in obj.items()}
    if isinstance(obj, np.ndarray):
        return (obj.copy(), obj.flags.writeable)
    return copy.deepcopy(obj)


def _same(a, b):
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, tuple) and len(a) == 2 and isinstance(a[0], np.ndarray):
        return np.array_equal(a[0], b[0], equal_nan=True) and a[1] == b[1]
    return a == b


def _deep_equal(a, b):
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_deep_equal(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_deep_equal(u, w) for u, w in zip(a, b))
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return np.array_equal(np.asarray(a), np.asarray(b), equal_nan=True)
    return a == b or (a != a and b != b)  # NaN equals NaN here


def _check(call, *data, fails=False):
    before = [_snapshot(d) for d in data]
    if fails:
        with pytest.raises(BeamkitError):
            call()
    else:
        call()
    for b, d in zip(before, data):
        assert _same(b, _snapshot(d))


def _beam(n=64, seed=3):
    return beam.matched_gaussian(n, beta_x_m=5.0, alpha_x=0.3, eps_x_m=1e-8, beta_y_m=8.0,
                                 alpha_y=-0.2, eps_y_m=1e-8, sigma_delta=1e-4, seed=seed)


def _map():
    x = np.linspace(-0.02, 0.02, 9)
    z = np.linspace(0.0, 0.4, 9)
    X, Y, _ = np.meshgrid(x, x, z, indexing="ij")
    return FieldMap(x, x, z, 0.5 * Y, 0.05 + 0.5 * X, np.zeros_like(X))


def test_tune_functions():
    k = np.arange(64)
    x = np.vstack([np.cos(2 * np.pi * 0.31 * k), np.cos(2 * np.pi * 0.27 * k)])
    px = np.vstack([-np.sin(2 * np.pi * 0.31 * k), -np.sin(2 * np.pi * 0.27 * k)])
    x[1, 40:] = np.nan
    _check(lambda: tune.tunes(x, px, 1.0, 0.0), x, px)
    _check(lambda: tune.tunes(x), x)
    _check(lambda: tune.normalised_signal(x, px, 1.0, 0.0), x, px)
    _check(lambda: tune.naff(x[0]), x)
    bad = x.copy()
    bad[0] = 1.0  # a constant row: refused
    _check(lambda: tune.tunes(bad), bad, fails=True)


def test_beam_functions():
    b = _beam()
    _check(lambda: beam.moments(b["x"], b["px"], b["delta"]), b)
    _check(lambda: beam.beam_moments(b["x"], b["px"]), b)
    _check(lambda: beam.moments(b["x"], b["px"][:5]), b, fails=True)


def test_fieldmap_functions():
    fm = _map()
    maps = {k: getattr(fm, k) for k in ("x", "y", "z", "bx", "by", "bz")}
    b = _beam()
    _check(lambda: track(fm, b, 0.0, 0.4, 8, p0c=1e9, q0=1.0), b, maps)
    _check(lambda: track(fm, b, 0.0, 0.4, 8, "boris", p0c=1e9, q0=1.0, record_every=2), b, maps)
    bad = {**b, "delta": np.full(64, -1.5)}
    _check(lambda: track(fm, bad, 0.0, 0.4, 8, p0c=1e9, q0=1.0), bad, fails=True)
    plane = FramePlane(0.001, 0.0, 0.01)
    _check(lambda: to_map_frame(b, plane), b)
    _check(lambda: from_map_frame(b, plane), b)
    _check(lambda: fm.field(b["x"], b["y"], np.full(64, 0.2)), b, maps)
    arrays = {k: np.array(getattr(fm, k)) for k in ("x", "y", "z", "bx", "by", "bz")}
    _check(lambda: FieldMap(**arrays), arrays)
    arrays_bad = {**arrays, "bz": arrays["bz"][:, :, :4]}
    _check(lambda: FieldMap(**arrays_bad), arrays_bad, fails=True)


def test_fieldmap_models_keep_their_arrays():
    from beamkit.fieldmap import enge, feed_down, synthetic_combined_function_magnet

    z = np.linspace(-0.5, 0.5, 11)
    b = np.ones((4, 11))
    dx = np.linspace(0.0, 1e-3, 11)
    _check(lambda: enge(z, 0.4, 0.05, derivatives=2), z)
    _check(lambda: feed_down(b, dx), b, dx)
    _check(lambda: feed_down(b, np.zeros(3)), b, fails=True)
    x = np.linspace(-0.02, 0.02, 5)
    zz = np.linspace(-0.6, 0.6, 13)
    rem = np.zeros(4)
    _check(lambda: synthetic_combined_function_magnet(x=x, y=x, z=zz, remanent=rem), x, zz, rem)


def test_scan_current_keeps_particles():
    from concurrent.futures import ThreadPoolExecutor

    from beamkit.fieldmap import LinearExcitation

    fm = _map()
    nominal = fm.scaled(1.0, current_a=100.0)
    exc = LinearExcitation(nominal, fm.scaled(0.0, current_a=0.0))
    b = _beam(16)
    with ThreadPoolExecutor(1) as pool:
        _check(lambda: scan_current([50.0, 100.0], exc, b, z_start=0.0, z_end=0.4, n_steps=8, p0c=1e9,
                                    q0=1.0, executor=pool, progress=False), b)
        _check(lambda: scan_current([], exc, b, z_start=0.0, z_end=0.4, n_steps=8, p0c=1e9, q0=1.0,
                                    executor=pool, progress=False), b, fails=True)


def test_tracking_functions():
    line = lattices.fodo_cell(20.0, 8.0).to_xtrack()
    elements_before = copy.deepcopy(line.to_dict())
    ref_before = line.particle_ref.to_dict()
    b = _beam(8)
    x0 = np.linspace(0.0, 1e-3, 8)
    _check(lambda: tracking.track_turns(line, 4, x=x0, delta=b["delta"]), x0, b)
    coords = {k: b[k] for k in ("x", "px", "y", "py", "delta")}
    _check(lambda: tracking.track_pass(line, coords), coords)
    _check(lambda: tracking.thin_line(line, 2), coords)
    bad = {**coords, "delta": np.full(8, -2.0)}
    _check(lambda: tracking.track_pass(line, bad), bad, fails=True)
    _check(lambda: tracking.track_turns(line, 3, x=[]), x0, fails=True)
    # elements, knobs and reference particle as they were (xtrack's tracker and its record of
    # the last track are its own bookkeeping, documented in track_turns)
    assert _deep_equal(line.to_dict(), elements_before)
    assert _deep_equal(line.particle_ref.to_dict(), ref_before)
