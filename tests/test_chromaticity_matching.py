"""Sextupole chromaticity matching in MAD-X and xtrack against the lecture's values."""

import math

import numpy as np
import pytest

from beamkit import lattices, optics, tune


@pytest.fixture
def cell():
    return lattices.lhc_fodo_cell(sextupoles=True)


def test_madx_reproduces_lecture_strengths(mad, cell):
    mad.load(cell)
    k2 = optics.match_chromaticity(mad, 0.0, 0.0)
    # The lecture prints 1.27667e-2 and -2.53671e-2 (6 digits): half a unit of the last digit.
    assert math.isclose(k2["k2sext1"], 1.27667e-2, abs_tol=5e-8)
    assert math.isclose(k2["k2sext2"], -2.53671e-2, abs_tol=5e-8)


def test_xtrack_matches_madx_strengths(mad, cell):
    mad.load(cell)
    k2_madx = optics.match_chromaticity(mad, 0.0, 0.0)
    k2_xt = optics.match_chromaticity(cell.to_xtrack(), 0.0, 0.0)
    # The codes' chromaticities differ by ~6e-6 once thick sextupoles sit in the
    # dispersive orbit; with dQ'/dk2 ~ 25 m^3 that is ~2.5e-7 m^-3, i.e. 2e-5 relative.
    for k in k2_madx:
        assert math.isclose(k2_xt[k], k2_madx[k], rel_tol=5e-5)


@pytest.mark.parametrize("targets", [(1.0, 0.5), (-0.5, 2.0)])
def test_other_targets_in_both_codes(mad, cell, targets):
    mad.load(cell)
    optics.match_chromaticity(mad, *targets)
    summary = optics.twiss_madx(mad, chrom=True).summary
    assert abs(summary["dq_x"] - targets[0]) < 1e-6 and abs(summary["dq_y"] - targets[1]) < 1e-6
    line = cell.to_xtrack()
    optics.match_chromaticity(line, *targets)
    tw = line.twiss(method="4d")
    assert abs(tw.dqx - targets[0]) < 1e-6 and abs(tw.dqy - targets[1]) < 1e-6


def test_single_family_corrects_one_plane_only(cell):
    line = cell.to_xtrack()
    before = line.twiss(method="4d")
    optics.match_chromaticity(line, dq_x=0.0, knobs=["k2sext1"])
    after = line.twiss(method="4d")
    assert abs(after.dqx) < 1e-6
    # Thin sextupole: dQ'_x = +beta_x D k2 l/(4 pi), dQ'_y = -beta_y D k2 l/(4 pi), so the
    # vertical change is -beta_y/beta_x (at sext1) times the horizontal one. The 1 m
    # sextupole sees beta change by a few percent over its length: 5 % tolerance.
    at = before.rows["sext1"]
    ratio = at.bety[0] / at.betx[0]
    expected = -(after.dqx - before.dqx) * ratio
    assert math.isclose(after.dqy - before.dqy, expected, rel_tol=0.05)


def test_corrected_cell_tracks_flat(cell):
    # Independent check: tracking + NAFF on the matched xtrack line gives Q' ~ 0.
    line = cell.to_xtrack()
    optics.match_chromaticity(line, 0.0, 0.0)
    fit = tune.chromaticity_from_tracking(line, np.linspace(-2e-4, 2e-4, 9), order=2)
    # Cubic remainder ~1e-7 and xtrack's dq noise ~1e-6 (see test_tune).
    assert abs(fit.dq) < 2e-6


def test_bad_requests(mad, cell):
    with pytest.raises(ValueError, match="at least one target"):
        optics.match_chromaticity(cell.to_xtrack())
    with pytest.raises(ValueError, match="as many knobs"):
        optics.match_chromaticity(cell.to_xtrack(), 0.0, 0.0, knobs=["k2sext1"])
    mad.load(cell)
    with pytest.raises(KeyError, match="no_such_knob"):
        optics.match_chromaticity(mad, 0.0, 0.0, knobs=["no_such_knob", "k2sext2"])
    with pytest.raises(KeyError, match="no_such_knob"):
        optics.match_chromaticity(cell.to_xtrack(), 0.0, knobs=["no_such_knob"])
