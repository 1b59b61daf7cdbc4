"""beamkit's field-map tracker, xtrack BFieldExpansion and xtrack SplineBoris on one field.

The field (benchmarks/peer_field.py) is represented exactly by both xtrack elements and
sampled on a grid for beamkit; the three must agree to their stated accuracy: RK4 O(h^4)
for beamkit and BFieldExpansion, Boris O(h^2) for SplineBoris, plus the tricubic
interpolation error O(dx^4) of the map. The reference is BFieldExpansion converged.
"""

import pathlib
import sys

import numpy as np
import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "benchmarks"))
import peer_field as pf  # noqa: E402

pytest.importorskip("xtrack")


@pytest.fixture(scope="module")
def setup():
    bfe, sb, brho = pf.elements()
    beam = pf.beam(100, np.random.default_rng(2026))
    ref = pf.track_xtrack(bfe, beam, 4000)
    return bfe, sb, brho, beam, ref


def test_the_two_xtrack_elements_hold_the_same_field(setup):
    bfe, sb, brho, _, _ = setup
    rng = np.random.default_rng(1)
    x, y, s = rng.uniform(-0.02, 0.02, 200), rng.uniform(-0.01, 0.01, 200), rng.uniform(0, 1, 200)
    f = bfe.get_field(x, y, s)
    bx, by, bs = sb.get_field(x, y, s)
    # Same polynomial field, two implementations: rounding (fields ~0.2 T).
    for a, b in ((f["Bx"] * brho, bx), (f["By"] * brho, by), (f["Bs"] * brho, bs)):
        assert np.abs(a - b).max() < 1e-14
    # and it is the field we asked for on the mid-plane (closed form)
    p = 16 * s**2 * (1 - s) ** 2
    on = bfe.get_field(x, 0 * y, s)["By"] * brho
    assert np.abs(on - p * (pf.B0_T + pf.G_T_PER_M * x + pf.S_T_PER_M2 * x**2 / 2)).max() < 1e-14


def test_reference_converged(setup):
    bfe, _, _, beam, ref = setup
    # RK4 error ~h^4: 4000 vs 8000 steps differ at rounding (measured ~2e-15 m).
    assert np.abs(pf.track_xtrack(bfe, beam, 8000) - ref).max() < 1e-13


def test_beamkit_map_agrees_with_bfield_expansion(setup):
    bfe, _, brho, beam, ref = setup
    coarse = pf.field_map(bfe, brho, 2e-3, 1e-2)
    fine = pf.field_map(bfe, brho, 1e-3, 5e-3)
    e_coarse = np.abs(pf.track_beamkit(coarse, beam, 2000) - ref).max()
    e_fine = np.abs(pf.track_beamkit(fine, beam, 2000) - ref).max()
    # The map's tricubic interpolation error is the only difference at 2000 steps:
    # ~1e-10 m (x) and ~2e-10 (px) on the 2 mm x 1 cm grid, and it falls as the fourth power
    # of the grid step (halving it: /16; 8 allows the px/x mix of the max).
    assert e_coarse < 5e-10
    assert e_fine < e_coarse / 8
    # Same RK4 scheme, same step: at 20 steps both carry the same step error (2e-8 m) and
    # agree to the interpolation error.
    ours = pf.track_beamkit(coarse, beam, 20)
    theirs = pf.track_xtrack(bfe, beam, 20)
    assert 1e-9 < np.abs(theirs - ref).max() < 1e-7
    assert np.abs(ours - theirs).max() < 5e-10


def test_spline_boris_converges_to_the_same_orbit_at_second_order(setup):
    _, sb, _, beam, ref = setup
    e100 = np.abs(pf.track_xtrack(sb, beam, 100)[0] - ref[0]).max()
    e1000 = np.abs(pf.track_xtrack(sb, beam, 1000)[0] - ref[0]).max()
    # Boris is second order: 10x the steps, 100x smaller error (measured 6.3e-8 -> 6.3e-10 m)
    assert e100 < 1e-7
    assert 80 < e100 / e1000 < 120
