"""Field maps given doubtful input (issue 16): loss positions, spare capacity, units, memory.

Every expected number here is a closed form (straight lines in a field-free map) or the
same particles given another way (a mapping against an xt.Particles).
"""

import warnings

import numpy as np
import pytest

from beamkit.errors import BeamkitWarning
from beamkit.fieldmap import FieldMap, track

P0C = 1e9


def _field_free(half_x=0.01, z1=0.4, n=9):
    x = np.linspace(-half_x, half_x, n)
    z = np.linspace(0.0, z1, n)
    zero = np.zeros((n, n, n))
    return FieldMap(x, x, z, zero, zero, zero)


@pytest.mark.parametrize("method", ["rk4", "boris"])
def test_lost_particle_is_reported_where_it_was_at_z_lost(method):
    # No field: a straight line x(z) = x0 + z px / pz (closed form). The particle crosses
    # x = 0.01 m at z_c; it is lost in the step that carries it (RK4: any stage, Boris: the
    # midpoint) past the edge, and is reported at the start of that step, z_lost, with the
    # coordinates it had there. 1e-15 m: a few roundings of a 0.01 m position.
    fm = _field_free()
    x0, px = 0.0, 0.04
    slope = px / np.sqrt(1.0 - px**2)
    z_c = 0.01 / slope
    n_steps = 40
    h = 0.4 / n_steps
    r = track(fm, {"x": [x0], "px": [px], "y": [0.0], "py": [0.0]}, 0.0, 0.4, n_steps, method,
              p0c=P0C, q0=1.0, record_every=1)
    assert r.lost[0] and r.loss_code[0] == 1
    z_lost = r.z_lost[0]
    assert z_c - h - 1e-12 <= z_lost <= z_c + 1e-12
    assert abs(round(z_lost / h) * h - z_lost) < 1e-12  # a step boundary
    assert abs(r.x[0] - (x0 + slope * z_lost)) < 1e-15
    assert r.px[0] == px
    # the recorded trajectory ends at the same state, NaN afterwards
    k = int(round(z_lost / h))
    assert abs(r.trajectories.x[k, 0] - r.x[0]) < 1e-15
    assert np.all(np.isnan(r.trajectories.x[k + 1:, 0]))


def test_xt_particles_spare_capacity_is_not_returned():
    import xtrack as xt

    fm = _field_free()
    coords = {"x": np.array([0.0, 1e-3]), "px": np.array([1e-3, -2e-3]), "y": np.zeros(2),
              "py": np.array([5e-4, 0.0]), "delta": np.array([0.0, 1e-3])}
    p = xt.Particles(p0c=P0C, _capacity=6, **coords)
    before = {k: np.array(getattr(p, k)) for k in ("x", "px", "state")}
    a = track(fm, p, 0.0, 0.4, 8)
    b = track(fm, coords, 0.0, 0.4, 8, p0c=P0C, q0=1.0)
    assert a.x.shape == (2,) and not a.lost.any()
    for k in ("x", "px", "y", "py", "delta"):
        np.testing.assert_array_equal(getattr(a, k), getattr(b, k))
    for k, arr in before.items():  # the xt.Particles is not modified
        np.testing.assert_array_equal(np.array(getattr(p, k)), arr)


def test_map_keeps_its_own_copies():
    x = np.linspace(-0.01, 0.01, 5)
    z = np.linspace(0.0, 0.4, 5)
    by = np.full((5, 5, 5), 0.1)
    zero = np.zeros((5, 5, 5))
    fm = FieldMap(x, x, z, zero, by, zero)
    assert x.flags.writeable and by.flags.writeable  # the caller's arrays stay writeable
    assert not np.shares_memory(fm.x, x) and not np.shares_memory(fm.by, by)
    x[0] = -1.0
    by[:] = 5.0
    assert fm.x[0] == -0.01 and np.all(fm.by == 0.1)  # and the map does not change with them
    assert not fm.by.flags.writeable and not fm.x.flags.writeable


def test_units_read_wrong_are_flagged(tmp_path):
    x = np.linspace(-0.01, 0.01, 5)
    z = np.linspace(0.0, 0.4, 5)
    by = np.full((5, 5, 5), 1.5)
    zero = np.zeros((5, 5, 5))
    good = FieldMap(x, x, z, zero, by, zero)
    path = tmp_path / "map_mm_gauss.txt"
    good.to_table(path, length_unit="mm", field_unit="gauss")
    with warnings.catch_warnings():
        warnings.simplefilter("error", BeamkitWarning)
        back = FieldMap.from_table(path, length_unit="mm", field_unit="gauss")
    np.testing.assert_allclose(back.by, by, rtol=1e-9)  # 10 significant digits written
    with pytest.warns(BeamkitWarning) as caught:
        FieldMap.from_table(path, length_unit="m", field_unit="gauss")
    said = " | ".join(str(w.message) for w in caught)
    assert "z span = 400 m" in said and "x and y spans = [20 .. 20] m" in said and "length_unit" in said
    with pytest.warns(BeamkitWarning, match=r"largest field component = 15000 T.*field_unit"):
        FieldMap.from_table(path, length_unit="mm", field_unit="T")


def test_delta_near_minus_one_is_tracked_but_not_below():
    # delta = -0.5 (half the momentum) is legal; delta <= -1 is refused (the catalogue).
    x = np.linspace(-0.01, 0.01, 5)
    z = np.linspace(0.0, 0.4, 5)
    fm = FieldMap(x, x, z, np.zeros((5, 5, 5)), np.full((5, 5, 5), 1e-3), np.zeros((5, 5, 5)))
    r = track(fm, {"x": [0.0, 0.0], "px": [0.0, 0.0], "y": [0.0, 0.0], "py": [0.0, 0.0],
                   "delta": [0.0, -0.5]}, 0.0, 0.4, 8, p0c=P0C, q0=1.0)
    # Closed form: px' = -(q/P0) By does not involve delta, so both get dpx = -(q/P0) By L
    # (1e-12: rounding of the RK4 sums); the slope x' = px / pz, pz = sqrt((1 + delta)^2 -
    # px^2), doubles at delta = -0.5 up to px^2 ~ 1e-8, hence 1e-6 on the ratio of the x.
    kick = -299792458.0 / P0C * 1e-3 * 0.4
    np.testing.assert_allclose(r.px, [kick, kick], rtol=1e-12)
    assert abs(r.x[1] / r.x[0] - 2.0) < 1e-6
