"""beamkit.tracking: turn-by-turn records, one pass, thin lines, and the lost-particle convention."""

import math

import numpy as np
import pytest

from beamkit import lattices, tracking, tune
from beamkit.errors import InputError


@pytest.fixture(scope="module")
def strong_sextupoles():
    return lattices.lhc_fodo_cell(sextupoles=True, k2sext1=0.5, k2sext2=-0.5).to_xtrack()


def test_lost_particles_are_nan_after_loss(strong_sextupoles):
    line = strong_sextupoles
    tbt = tracking.track_turns(line, 200, x=[1e-4, 0.5])
    assert not tbt.lost[0] and tbt.lost[1]
    # One convention: the place of loss is a float, NaN for particles kept.
    assert tbt.lost_at_turn.shape == (2,) and tbt.lost_at_turn.dtype == float
    assert math.isnan(tbt.lost_at_turn[0])
    turn = int(tbt.lost_at_turn[1])
    assert tbt.lost_at_turn[1] == turn
    assert np.all(np.isnan(tbt.x[1, turn + 1:])) and np.all(np.isfinite(tbt.x[1, :turn + 1]))
    tw = line.twiss(method="4d")
    q = tune.tunes(tbt.x, tbt.px, tw.betx[0], tw.alfx[0])
    assert np.isfinite(q[0]) and np.isnan(q[1])
    assert tbt.n_particles == 2 and tbt.n_turns == 200
    with pytest.raises(AttributeError):
        tbt.lost = None


def test_rows_keep_the_order_given(strong_sextupoles):
    # xtrack moves lost particles to the end of its arrays; beamkit puts them back. The
    # lost particle comes first here, so a missing re-ordering would swap the rows.
    tbt = tracking.track_turns(strong_sextupoles, 50, x=[0.5, 1e-4, 2e-4])
    assert list(tbt.lost) == [True, False, False]
    assert tbt.x[1, 0] == 1e-4 and tbt.x[2, 0] == 2e-4


def test_one_pass_equals_the_linear_matrix():
    # Tracking against matrices: a FODO cell without bends or sextupoles is linear in
    # (x, px) for delta = 0 up to the drifts' exact square root, so one pass equals the
    # one-turn matrix to that size.
    cell = lattices.lhc_fodo_cell(bends_on=False)
    line = cell.to_xtrack()
    x0 = np.array([1e-4, -2e-4, 0.0])
    px0 = np.array([0.0, 1e-6, -3e-6])
    out = tracking.track_pass(line, {"x": x0, "px": px0, "y": x0[::-1], "py": px0})
    mx = cell.one_turn_matrix("x")[:2, :2]
    my = cell.one_turn_matrix("y")[:2, :2]
    exp_x = mx @ np.vstack([x0, px0])
    exp_y = my @ np.vstack([x0[::-1], px0])
    # xtrack's drifts are exact (x' = px / pz): relative to the linear map they add terms
    # of order px^2 ~ 1e-11, i.e. ~1e-14 m on x here; 1e-13 m and 1e-15 in px leave room.
    assert np.allclose(out.x, exp_x[0], rtol=0, atol=1e-13)
    assert np.allclose(out.px, exp_x[1], rtol=0, atol=1e-15)
    assert np.allclose(out.y, exp_y[0], rtol=0, atol=1e-13)
    assert not out.lost.any()
    assert list(out.to_frame().columns) == ["x", "px", "y", "py", "delta", "zeta", "lost"]


def test_one_pass_and_first_turn_agree(strong_sextupoles):
    # The same tracking two ways: the second recorded turn of track_turns is one pass.
    x = np.array([1e-3, 2e-3, 0.5])
    tbt = tracking.track_turns(strong_sextupoles, 2, x=x)
    once = tracking.track_pass(strong_sextupoles, {"x": x})
    assert np.array_equal(once.x[:2], tbt.x[:2, 1])
    assert np.array_equal(once.px[:2], tbt.px[:2, 1])


def test_track_pass_does_not_touch_the_input(strong_sextupoles):
    coords = {"x": np.array([1e-3, 0.5]), "px": np.zeros(2)}
    before = {k: v.copy() for k, v in coords.items()}
    tracking.track_pass(strong_sextupoles, coords)
    for k in coords:
        assert np.array_equal(coords[k], before[k])


def test_bad_arguments(strong_sextupoles):
    with pytest.raises(InputError, match="n_turns"):
        tracking.track_turns(strong_sextupoles, 0)
    with pytest.raises(InputError, match="coordinates"):
        tracking.track_pass(strong_sextupoles, {"xx": [0.0]})
