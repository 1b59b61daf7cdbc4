"""The LHC-like FODO cell: MAD-X against the lecture's printed values, xtrack and matrices.

Published values: the MAD-X output printed in Oeftiger, lecture 6 (2026), to 10
significant digits. Tolerances of 1e-9 relative cover that rounding (5e-11) and the
difference between MAD-X 5.09.03 on macOS (the source) and cpymad's MAD-X on Linux.
"""

import math

import numpy as np
import pytest

from beamkit import optics, tracking, tune
from beamkit import reference_values as ref

PRINTED = ref.LECTURE_PRINTED_RTOL  # relative: 10 printed digits plus platform differences


def test_madx_bends_off_matches_lecture(mad, lhc_cell_bends_off):
    mad.load(lhc_cell_bends_off)
    raw = optics.twiss_madx(mad).madx_summary
    assert math.isclose(raw["q1"], ref.LHC_CELL_Q_X_BENDS_OFF, rel_tol=PRINTED)
    assert math.isclose(raw["q2"], ref.LHC_CELL_Q_Y_BENDS_OFF, rel_tol=PRINTED)
    assert math.isclose(raw["dq1"], ref.LHC_CELL_DQ1_BENDS_OFF, rel_tol=PRINTED)
    assert math.isclose(raw["betxmax"], ref.LHC_CELL_BETX_MAX_M_BENDS_OFF, rel_tol=PRINTED)


def test_madx_bends_on_matches_lecture(mad, lhc_cell):
    mad.load(lhc_cell)
    result = optics.twiss_madx(mad)
    raw = result.madx_summary
    assert math.isclose(raw["q1"], ref.LHC_CELL_Q_X_BENDS_ON, rel_tol=PRINTED)
    assert math.isclose(raw["dxmax"], ref.LHC_CELL_DX_MAX_M_BENDS_ON, rel_tol=PRINTED)
    assert math.isclose(raw["alfa"], ref.LHC_CELL_ALPHA_C, rel_tol=PRINTED)
    assert math.isclose(raw["gammatr"], ref.LHC_CELL_GAMMA_TR, rel_tol=PRINTED)
    # The tidy summary converts from pt to delta with beta0 (= 0.999999991 at 7 TeV).
    assert math.isclose(result.summary["dq_x"], raw["dq1"] * result.beta0, rel_tol=1e-15)
    assert math.isclose(result.beta0, ref.LHC_BEAM_BETA0_7TEV, rel_tol=1e-9)


def test_madx_switches_bends_with_knob(mad, lhc_cell):
    mad.load(lhc_cell)
    mad.set_variables(theta=0)
    raw = optics.twiss_madx(mad).madx_summary
    assert math.isclose(raw["q1"], ref.LHC_CELL_Q_X_BENDS_OFF, rel_tol=PRINTED)
    assert raw["dxmax"] == 0


@pytest.mark.parametrize("bends_on", [False, True])
def test_three_engines_agree(mad, bends_on):
    from beamkit import lattices

    cell = lattices.lhc_fodo_cell(bends_on=bends_on)
    mad.load(cell)
    m = optics.twiss_madx(mad).summary
    x = optics.twiss_xtrack(cell.to_xtrack()).summary
    t = optics.twiss_matrices(cell).summary
    for other in (x, t):
        # Tunes: both are the phase of the same linear map, only rounding differs.
        assert abs(other["q_x"] - m["q_x"]) < 1e-9
        assert abs(other["q_y"] - m["q_y"]) < 1e-9
        # Optics maxima at the same sample points (element ends and centres).
        assert math.isclose(other["beta_x_max_m"], m["beta_x_max_m"], rel_tol=1e-9)
        assert math.isclose(other["beta_y_max_m"], m["beta_y_max_m"], rel_tol=1e-9)
        assert abs(other["dispersion_x_max_m"] - m["dispersion_x_max_m"]) < 1e-8
    # xtrack's chromaticity and momentum compaction come from finite differences
    # (physics notes: agreement near 1e-6 is what to expect). Its alpha_c also carries
    # an absolute noise floor of a few 1e-11 (it reads -2e-11 when the true value is 0),
    # hence the 1e-10 floor.
    assert abs(x["dq_x"] - m["dq_x"]) < 1e-6
    assert abs(x["dq_y"] - m["dq_y"]) < 1e-6
    assert abs(x["alpha_c"] - m["alpha_c"]) <= max(1e-6 * m["alpha_c"], 1e-10)
    # The matrices' alpha_c is a closed-form integral of D/rho: only rounding.
    assert abs(t["alpha_c"] - m["alpha_c"]) <= 1e-9 * max(m["alpha_c"], 1e-12)
    # The matrices' chromaticity: quadrupole and weak bend focusing k/(1+delta) by a central
    # difference, plus the bends' first-order chromatic terms (curvature x dispersion and the
    # pole faces, ~theta^2: 3.1019e-4 in x, 2.1111e-4 in y; issue 9, point 10), which
    # MAD-X's plain twiss includes. 1e-10: the central difference's rounding (1e-16/1e-6
    # times a few dozen products; measured 2e-11); test_optics_chromatic.py has the rest.
    assert abs(t["dq_x"] - m["dq_x"]) < 1e-10
    assert abs(t["dq_y"] - m["dq_y"]) < 1e-10


def test_gamma_transition_is_inverse_sqrt_alpha(lhc_cell):
    t = optics.twiss_matrices(lhc_cell).summary
    assert math.isclose(t["gamma_tr"], 1 / math.sqrt(t["alpha_c"]), rel_tol=1e-15)


def test_tracked_tune_matches_phase_advance(lhc_cell):
    # NAFF on the complex normalised signal is accurate to ~1e-11 for 1024 clean turns;
    # the twiss tune is the one-turn matrix's phase, independent of tracking.
    line = lhc_cell.to_xtrack()
    tw = line.twiss(method="4d")
    tbt = tracking.track_turns(line, 1024, x=1e-4, y=1e-4)
    qx = tune.naff(tune.normalised_signal(tbt.x[0], tbt.px[0], tw.betx[0], tw.alfx[0]))
    qy = tune.naff(tune.normalised_signal(tbt.y[0], tbt.py[0], tw.bety[0], tw.alfy[0]))
    assert abs(qx - tw.qx) < 1e-9
    assert abs(qy - tw.qy) < 1e-9
    assert not tbt.lost.any()
    assert np.all(tbt.delta == 0)
