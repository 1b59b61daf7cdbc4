"""beamkit.chromaticity: thin-lens formulas, measurement by tracking, matching with sextupoles."""

import math

import numpy as np
import pytest

from beamkit import chromaticity, lattices, optics
from beamkit import reference_values as ref
from beamkit.errors import InputError


@pytest.fixture
def cell():
    return lattices.lhc_fodo_cell(sextupoles=True)


def test_madx_reproduces_lecture_strengths(mad, cell):
    mad.load(cell)
    k2 = chromaticity.match_chromaticity(mad, 0.0, 0.0)
    # The lecture prints 1.27667e-2 and -2.53671e-2 (6 digits): half a unit of the last digit.
    assert math.isclose(k2["k2sext1"], ref.LHC_CELL_K2SEXT1, abs_tol=ref.LHC_CELL_K2_PRINTED_ATOL)
    assert math.isclose(k2["k2sext2"], ref.LHC_CELL_K2SEXT2, abs_tol=ref.LHC_CELL_K2_PRINTED_ATOL)


def test_xtrack_matches_madx_strengths(mad, cell):
    mad.load(cell)
    k2_madx = chromaticity.match_chromaticity(mad, 0.0, 0.0)
    k2_xt = chromaticity.match_chromaticity(cell.to_xtrack(), 0.0, 0.0)
    # With 64 kicks per thick sextupole (elements.SEXTUPOLE_KICKS) xtrack's Q' is MAD-X's
    # to ~2e-8 (floor of the midpoint-rule error, 9e-6/64^2, plus 5e-9 of xtrack's
    # off-momentum twiss on the bent cell); with |dQ'/dk2| ~ 25 m^3 and k2 ~ 1e-2 m^-3
    # that is < 1e-7 relative (measured 4e-8 / 2e-9). A single centre kick (xtrack's
    # default) is off by 1.9e-5 relative and fails this (issue 9, point 1).
    for k in k2_madx:
        assert math.isclose(k2_xt[k], k2_madx[k], rel_tol=2e-7)


@pytest.mark.parametrize("targets", [(1.0, 0.5), (-0.5, 2.0)])
def test_other_targets_in_both_codes(mad, cell, targets):
    mad.load(cell)
    chromaticity.match_chromaticity(mad, *targets)
    # The match and this check use plain twiss, the analytic chromaticity (issue 9,
    # point 4); `twiss, chrom` would differ by (Q''/2) 1e-6 = 2e-6 to 4e-6 here.
    summary = optics.twiss_madx(mad).summary
    assert abs(summary["dq_x"] - targets[0]) < 1e-6 and abs(summary["dq_y"] - targets[1]) < 1e-6
    chrom = optics.twiss_madx(mad, chrom=True).summary
    assert abs(chrom["dq_x"] - targets[0]) > 1e-6 or abs(chrom["dq_y"] - targets[1]) > 1e-6
    line = cell.to_xtrack()
    chromaticity.match_chromaticity(line, *targets)
    tw = line.twiss(method="4d")
    assert abs(tw.dqx - targets[0]) < 1e-6 and abs(tw.dqy - targets[1]) < 1e-6


def test_single_family_corrects_one_plane_only(cell):
    line = cell.to_xtrack()
    before = line.twiss(method="4d")
    chromaticity.match_chromaticity(line, dq_x=0.0, knobs=["k2sext1"])
    after = line.twiss(method="4d")
    assert abs(after.dqx) < 1e-6
    # Thin sextupole: dQ'_x = +beta_x D k2 l/(4 pi), dQ'_y = -beta_y D k2 l/(4 pi), so the
    # vertical change is -beta_y/beta_x (at sext1) times the horizontal one. The 1 m
    # sextupole sees beta change by a few percent over its length: 5 % tolerance.
    at = before.rows["sext1"]
    ratio = at.bety[0] / at.betx[0]
    expected = -(after.dqx - before.dqx) * ratio
    assert math.isclose(after.dqy - before.dqy, expected, rel_tol=0.05)


def test_corrected_cell_tracks_flat(mad, cell):
    # Independent check: MAD-X's matched strengths, tracked in xtrack (another code), with
    # NAFF and a cubic fit, give Q' ~ 0 in both planes.
    mad.load(cell)
    k2 = chromaticity.match_chromaticity(mad, 0.0, 0.0)
    line = lattices.lhc_fodo_cell(sextupoles=True, **k2).to_xtrack()
    deltas = np.linspace(-1e-3, 1e-3, 21)
    for plane in ("x", "y"):
        fit = chromaticity.chromaticity_from_tracking(line, deltas, plane=plane, order=3)
        # The cubic fit leaves the fifth-order term and NAFF errors, ~3e-11 together; what
        # remains is the 64-kick model's 1/N^2 term, -2.3e-9 in x and +2.2e-9 in y
        # (sextupoles chapter, eq-sext-kick-error). xtrack's twiss shows a ~1e-8 floor in
        # Q'_x on this bent cell that tracking does not: a bound of 3e-9 checks that too.
        # A single-kick xtrack sextupole gives -9e-6 / +9e-6.
        assert abs(fit.dq) < 3e-9, (plane, fit.dq)


def test_bad_requests(mad, cell):
    with pytest.raises(InputError, match="at least one target"):
        chromaticity.match_chromaticity(cell.to_xtrack())
    with pytest.raises(InputError, match="as many knobs"):
        chromaticity.match_chromaticity(cell.to_xtrack(), 0.0, 0.0, knobs=["k2sext1"])
    mad.load(cell)
    with pytest.raises(InputError, match="no_such_knob"):
        chromaticity.match_chromaticity(mad, 0.0, 0.0, knobs=["no_such_knob", "k2sext2"])
    with pytest.raises(InputError, match="no_such_knob"):
        chromaticity.match_chromaticity(cell.to_xtrack(), 0.0, knobs=["no_such_knob"])


# ---------------------------------------------------------------- measurement by tracking
def test_chromaticity_from_tracking_matches_madx_and_xtrack(lhc_cell):
    from beamkit import madx, optics

    with madx.session() as mad:
        mad.load(lhc_cell)
        madx_summary = optics.twiss_madx(mad).summary   # dq1 * beta0: dQ/d delta
    line = lhc_cell.to_xtrack()
    tw = line.twiss(method="4d")
    deltas = np.linspace(-2e-4, 2e-4, 9)
    for plane, key, xt_dq in (("x", "dq_x", tw.dqx), ("y", "dq_y", tw.dqy)):
        fit = chromaticity.chromaticity_from_tracking(line, deltas, plane=plane, order=2)
        # The quadratic fit leaves the cubic term, Q'''/6 * delta^2 ~ 1e-7 over +-2e-4,
        # and xtrack's finite-difference dq is good to ~1e-6 (physics notes).
        assert abs(fit.dq - madx_summary[key]) < 1e-6
        assert abs(fit.dq - xt_dq) < 2e-6
        assert fit.dq_error < 1e-6
        # The on-momentum particle is picked by its delta, and its tune is the twiss tune.
        assert abs(fit.tune_at(0.0) - (tw.qx if plane == "x" else tw.qy)) < 1e-10


def test_fit_scales_delta():
    # An unscaled Vandermonde matrix has cond > 1e12 for order 4 over +-1e-3 and order 3
    # over +-1e-4 and used to raise "the deltas are (nearly) all the same" (issue 9,
    # point 12). On u = delta / max|delta| (cond < 20) the fit recovers a known
    # polynomial: tune rounding (1e-16) times cond, divided by max|delta|, is < 1e-11.
    for order, span in ((4, 1e-3), (3, 1e-4)):
        deltas = np.linspace(-span, span, 11)
        coef = np.array([0.31, -0.32, 0.97, 30.0, -5e3])[: order + 1]
        fit = chromaticity.fit_chromaticity(deltas, np.polynomial.polynomial.polyval(deltas, coef), order)
        assert abs(fit.dq - coef[1]) < 1e-11
        assert abs(fit.q_at_zero - coef[0]) < 1e-14


def test_tune_at_selects_by_value_not_index():
    fit = chromaticity.fit_chromaticity([3e-4, -1e-4, 0.0, 1e-4, -3e-4], [0.3, 0.4, 0.5, 0.6, 0.7], 1, "x")
    assert fit.tune_at(0.0) == 0.5
    with pytest.raises(InputError, match="0 particles"):
        fit.tune_at(2e-4)


def test_chromaticity_fit_rejects_degenerate_input():
    with pytest.raises(ValueError, match="ill-conditioned"):
        chromaticity.fit_chromaticity([1e-4] * 5, [0.3] * 5, 1, "x")
    with pytest.raises(ValueError, match="at least 3"):
        chromaticity.fit_chromaticity([0, 1e-4], [0.3, 0.31], 1, "x")


def test_fit_recovers_an_exact_polynomial():
    # Tunes made from a known quadratic: least squares returns its coefficients to rounding.
    deltas = np.linspace(-1e-3, 1e-3, 11)
    tunes = 0.25 - 0.3 * deltas + 40.0 * deltas**2
    fit = chromaticity.fit_chromaticity(deltas, tunes, order=2, plane="y")
    assert abs(fit.q_at_zero - 0.25) < 1e-14
    assert abs(fit.dq + 0.3) < 1e-10       # rounding of 1e-16 in the tunes / delta ~ 1e-3
    assert fit.plane == "y" and fit.order == 2
    assert np.allclose(fit.to_frame()["residual"], 0.0, atol=1e-15)
    with pytest.raises(AttributeError):
        fit.dq = 0.0  # frozen result


# ---------------------------------------------------------------- thin-lens formulas
def test_thin_lens_formula_reproduces_the_lecture():
    # The lecture evaluates -tan(pi q1)/pi with MAD-X's q1 and prints 16 digits.
    value = chromaticity.fodo_thin_lens_chromaticity(ref.LHC_CELL_Q_X_BENDS_OFF)
    assert math.isclose(value, ref.LHC_CELL_THIN_FORMULA_DQ_X, rel_tol=1e-15)


@pytest.mark.parametrize("focal_m", [30.0, 40.0, 80.0])
def test_thin_lens_formula_against_thin_lens_matrices(focal_m):
    # Independent: the central difference of the thin-lens one-turn matrix's tune. The
    # formula is exact for thin quadrupoles; the difference quotient's error is ~1e-10.
    o = optics.twiss_matrices(lattices.fodo_cell(110.0, focal_m))
    assert abs(o.dq_x - chromaticity.fodo_thin_lens_chromaticity(o.q_x)) < 2e-10
    assert abs(o.dq_y - chromaticity.fodo_thin_lens_chromaticity(o.q_y)) < 2e-10


def test_sextupole_response_thin_lens_against_xtrack(cell):
    line = cell.to_xtrack()
    at = chromaticity.sextupole_optics(line, ("sext1", "sext2"))
    thin = chromaticity.sextupole_thin_lens_response(at.beta_x_m, at.beta_y_m, at.dispersion_x_m,
                                                     at.length_m)
    numeric = chromaticity.chromaticity_response(line, ["k2sext1", "k2sext2"], step=0.01)
    # xtrack's thick sextupoles against the thin-lens formula evaluated with the average of
    # entrance and exit optics: beta varies by ~1 % over the 1 m magnets, and its curvature
    # term left out by the average is a few 1e-4 relative (measured <= 2.8e-4).
    assert np.allclose(numeric, thin, rtol=5e-4, atol=0)
    # The knobs are put back.
    assert line.vars["k2sext1"]._value == 0.0 and line.vars["k2sext2"]._value == 0.0
    # Signs: sext1 (high beta_x, D > 0) raises Q'_x and lowers Q'_y.
    assert thin[0, 0] > 0 and thin[1, 0] < 0


def test_thin_lens_estimate_is_near_the_lecture_strengths(cell):
    # Solving the thin-lens response for Q' = 0 gives the lecture's matched strengths to
    # the accuracy of the response: its entries differ from xtrack's by <= 3e-4 relative
    # (test above) and cond(R) ~ 2.2 amplifies that to <= 7e-4 in k2; hence 1e-3. Measured:
    # 2.4e-5 (issue 9 discusses why the agreement is closer than this bound).
    line = cell.to_xtrack()
    at = chromaticity.sextupole_optics(line, ("sext1", "sext2"))
    r = chromaticity.sextupole_thin_lens_response(at.beta_x_m, at.beta_y_m, at.dispersion_x_m, at.length_m)
    tw = line.twiss(method="4d")
    k2 = np.linalg.solve(r, -np.array([tw.dqx, tw.dqy]))
    assert np.allclose(k2, [ref.LHC_CELL_K2SEXT1, ref.LHC_CELL_K2SEXT2], rtol=1e-3, atol=0)
