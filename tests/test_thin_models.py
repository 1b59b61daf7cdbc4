"""Thin-lens models: MAD-X makethin (TEAPOT) against xtrack slicing, and the source's Q'."""

import numpy as np
import pytest

from beamkit import chromaticity, lattices, madx, optics, tracking
from beamkit import reference_values as ref

LECTURE_K2 = {"k2sext1": ref.LHC_CELL_K2SEXT1, "k2sext2": ref.LHC_CELL_K2SEXT2}


@pytest.mark.parametrize("slices", [1, 4])
def test_makethin_matches_xtrack_slicing(slices):
    cell = lattices.lhc_fodo_cell(sextupoles=True, **LECTURE_K2)
    with madx.session() as mad:
        mad.load(cell)
        mad.makethin("fodo", slices=slices)
        m = optics.twiss_madx(mad).summary
    x = optics.twiss_xtrack(tracking.thin_line(cell.to_xtrack(), slices)).summary
    # Same kicks at the same places: tunes agree to rounding.
    assert abs(x["q_x"] - m["q_x"]) < 1e-9 and abs(x["q_y"] - m["q_y"]) < 1e-9
    # Q'_x: finite-difference noise (1e-6). Q'_y: the codes model thin-bend edges
    # differently: 6.54e-5 (1 slice) and 6.68e-5 (4 slices) (issue 9, point 14), pinned
    # in a window that excludes both agreement and the earlier 1e-4 bound.
    assert abs(x["dq_x"] - m["dq_x"]) < 1e-6
    assert 6e-5 < x["dq_y"] - m["dq_y"] < 7e-5


def test_thin_cell_with_thick_matched_sextupoles_tracks_near_minus_0_011():
    # Source: with the thick-matched strengths, the one-slice thin cell tracks Q' ~ -0.011.
    # Its -0.01099 comes from launching every particle at x = 40 mm: the sextupoles'
    # amplitude detuning then varies with delta (amplitude 40 mm - D delta) and moves the
    # slope by +1.6e-4; the real-signal NAFF bias is only ~1e-5 (issue 9, point 2).
    # At small amplitude about each closed orbit the zero-amplitude value is recovered:
    # MAD-X thin dq1 * beta0 = -0.0111406 (issue 9 findings, 7 digits).
    cell = lattices.lhc_fodo_cell(sextupoles=True, **LECTURE_K2)
    thin = tracking.thin_line(cell.to_xtrack(), 1)
    fit = chromaticity.chromaticity_from_tracking(thin, np.linspace(-1e-3, 1e-3, 21), order=3)
    twiss_dq = thin.twiss(method="4d").dqx
    assert abs(fit.dq - twiss_dq) < 2e-6           # tracking vs twiss, same model
    # and the source's 2 digits
    assert abs(fit.dq - ref.LHC_CELL_THIN_TRACKED_DQ_X) < 0.0005


def test_thin_line_leaves_original_alone():
    line = lattices.lhc_fodo_cell().to_xtrack()
    n = len(line.element_names)
    thin = tracking.thin_line(line, 2)
    assert len(line.element_names) == n and len(thin.element_names) > n
    with pytest.raises(ValueError, match="at least 1"):
        tracking.thin_line(line, 0)
