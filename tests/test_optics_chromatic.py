"""Chromaticity of twiss_matrices: bends' first-order terms and sextupoles (issue 9, points 9, 10).

Independent source: MAD-X's plain ``twiss`` (``dq1``, ``dq2`` from its second-order TRANSPORT
maps, times beta0 to convert from pt to delta), through cpymad. Its value is analytic; the
matrices' ``k/(1+delta)`` part is a central difference with delta_step = 1e-6, whose rounding
is ~1e-16 / 1e-6 times the number of products (measured 2e-11 on the LHC cell, 2.4e-10 on
the 12-cell ring below), and whose truncation (delta_step^2 Q'''/6) is ~1e-12. Hence the
tolerances 1e-10 (one cell) and 1e-9 (a ring of ~100 elements).
"""

import math

import numpy as np
import pytest
from scipy.integrate import quad

from beamkit import lattices, madx, optics
from beamkit import matrices as mx
from beamkit import ring_design as rd

# The source's MAD-X-matched strengths (lecture 6), printed to 6 digits (m^-3).
SOURCE_K2 = (1.27667e-2, -2.53671e-2)


def _madx(mad, lattice):
    mad.load(lattice)
    return optics.twiss_madx(mad)


def _k_over_one_plus_delta_only(lattice, step=1e-6):
    """dQ/d delta of the bare k/(1+delta) matrices (what twiss_matrices returned before)."""
    out = []
    for plane in ("x", "y"):
        q = [mx.periodic_twiss(lattice.one_turn_matrix(plane, delta=d), plane).q for d in (step, -step)]
        out.append((q[0] - q[1]) / (2 * step))
    return np.array(out)


@pytest.mark.parametrize("case", ["lhc bends on", "lhc bends off", "24-cell ring cell", "12-cell ring"])
def test_matrix_chromaticity_equals_madx_plain_twiss(mad, case):
    if case == "lhc bends on":
        lattice, tol = lattices.lhc_fodo_cell(), 1e-10
    elif case == "lhc bends off":
        lattice, tol = lattices.lhc_fodo_cell(bends_on=False), 1e-10
    elif case == "24-cell ring cell":
        # one cell of a 24-cell ring: 2 pi / 24 per cell, 0.13 rad per bend (large theta)
        lattice = lattices.fodo_cell(20.0, 8.0, quad_length_m=1.0, bend_angle_rad=2 * math.pi / 24)
        tol = 1e-10
    else:
        # the ring_design chapter's ring0: 24 bends of 0.26 rad, protons at gamma 1.67
        # (beta0 = 0.8). k/(1+delta) matrices alone give -1.25 / -1.08, MAD-X -0.640 / -0.734.
        lattice, tol = rd.fodo_ring(12, 221.45, 0.06, -0.06, gamma0=1.67), 1e-9
    m = _madx(mad, lattice)
    t = optics.twiss_matrices(lattice)
    assert abs(t.dq_x - m.dq_x) < tol
    assert abs(t.dq_y - m.dq_y) < tol
    # slicing the bends changes nothing: inner cuts carry no pole face (rounding only)
    fine = optics.twiss_matrices(lattice, max_step_m=0.1)
    assert abs(fine.dq_x - t.dq_x) < 1e-11 and abs(fine.dq_y - t.dq_y) < 1e-11


@pytest.mark.parametrize("case", ["lhc with sextupoles", "12-cell ring"])
def test_off_momentum_matrices_about_the_orbit_give_madx_chromaticity(mad, case):
    # A second route, independent of the beta-weighted integrals of twiss_matrices: the
    # off-momentum matrices linearised about the dispersive orbit (bends with their
    # curvature and pole-face terms, sextupoles with k2 D delta), multiplied out, and the
    # tune's central difference. Rounding of the central difference over ~100-400 slices
    # and 1e-6: measured 2e-10, hence 1e-9.
    if case == "lhc with sextupoles":
        lattice = lattices.lhc_fodo_cell(sextupoles=True, k2sext1=SOURCE_K2[0], k2sext2=SOURCE_K2[1])
    else:
        lattice = rd.fodo_ring(12, 221.45, 0.06, -0.06, gamma0=1.67)
    m = _madx(mad, lattice)
    step = 1e-6
    for plane, expected in (("x", m.dq_x), ("y", m.dq_y)):
        q = [mx.periodic_twiss(mx.line_matrix(sl.matrix for sl in lattice.off_momentum_matrices(
            plane, d, max_step_m=1.0)), plane).q for d in (step, -step)]
        assert abs((q[0] - q[1]) / (2 * step) - expected) < 1e-9, plane
    # on momentum they are the ordinary matrices
    for a, b in zip(lattice.off_momentum_matrices("y", 0.0), lattice.transfer_matrices("y")):
        assert np.array_equal(a.matrix, b.matrix)


def test_bend_terms_are_what_kl_matrices_miss_and_scale_as_theta_squared():
    # MAD-X minus k/(1+delta) matrices on the LHC cell: 3.1019e-4, 2.1111e-4 (issue 9,
    # point 10, pinned in test_review_facts p10 with its own matrices); the bend terms
    # of the matrices, alone, reproduce them.
    missing = {}
    for theta in (lattices.LHC_BEND_ANGLE_RAD, lattices.LHC_BEND_ANGLE_RAD / 2):
        cell = lattices.lhc_fodo_cell(bend_angle_rad=theta)
        with madx.session() as mad:
            m = _madx(mad, cell)
        bare = _k_over_one_plus_delta_only(cell)
        t = optics.twiss_matrices(cell)
        missing[theta] = np.array([t.dq_x, t.dq_y]) - bare
        # central differences at 1e-6 on both sides: 1e-10 (module docstring)
        assert np.allclose(missing[theta], [m.dq_x - bare[0], m.dq_y - bare[1]], atol=1e-10, rtol=0)
    full = missing[lattices.LHC_BEND_ANGLE_RAD]
    # to the 5 digits of the pinned values
    assert abs(full[0] - 3.1019e-4) < 1e-8 and abs(full[1] - 2.1111e-4) < 1e-8
    # curvature h x dispersion D ~ h: theta^2, first order in delta. The ratio is not exactly
    # 4 because the optics move with theta too (the bends' weak focusing h^2 and the
    # (1 - cos) part of D): 3.998 in both planes, so 1e-3 tells theta^2 from theta or theta^3.
    assert np.allclose(full / missing[lattices.LHC_BEND_ANGLE_RAD / 2], 4.0, rtol=1e-3)


def test_sextupoles_on_and_off_against_madx(mad):
    # Point 9: a cell matched to Q' = 0 (MAD-X, plain twiss, as in the source) used to
    # return the bare -0.3218 from the matrices, which treated sextupoles as drifts.
    cell = lattices.lhc_fodo_cell(sextupoles=True)
    mad.load(cell)
    mad.input("""
        match, sequence = fodo;
        global, sequence = fodo, dq1 = 0, dq2 = 0;
        vary, name = k2sext1, step = 1e-4;
        vary, name = k2sext2, step = 1e-4;
        lmdif, calls = 200, tolerance = 1e-30;
        endmatch;""")
    k2 = (mad.madx.globals.k2sext1, mad.madx.globals.k2sext2)
    # the source's printed strengths, to their 6 digits
    assert np.allclose(k2, SOURCE_K2, rtol=5e-6, atol=0)
    matched = optics.twiss_madx(mad)
    assert abs(matched.dq_x) < 1e-12 and abs(matched.dq_y) < 1e-12
    mad.set_variables(k2sext1=0.0, k2sext2=0.0)
    madx_off = optics.twiss_madx(mad)
    t = optics.twiss_matrices(cell.with_variables(k2sext1=k2[0], k2sext2=k2[1]))
    assert abs(t.dq_x - matched.dq_x) < 1e-10 and abs(t.dq_y - matched.dq_y) < 1e-10
    off = optics.twiss_matrices(cell)
    bare = optics.twiss_matrices(lattices.lhc_fodo_cell())
    assert abs(off.dq_x - bare.dq_x) < 1e-14 and abs(off.dq_y - bare.dq_y) < 1e-14
    # The sextupoles' part alone (on minus off) is closed form on both sides: the central
    # difference cancels (sextupoles are drifts in the matrices), so only rounding of
    # numbers of size 0.32 remains: 1e-12.
    assert abs((t.dq_x - off.dq_x) - (matched.dq_x - madx_off.dq_x)) < 1e-12
    assert abs((t.dq_y - off.dq_y) - (matched.dq_y - madx_off.dq_y)) < 1e-12
    # the bare cell's natural chromaticity (MAD-X's, the review's -0.3218296)
    assert abs(off.dq_x - (-0.3218296049)) < 1e-9


OPTICS_IN = {"beta_x_m": 170.0, "alpha_x": -2.1, "beta_y_m": 33.0, "alpha_y": 0.6,
             "dispersion_m": 2.0, "dispersion_prime": 0.03}


def test_sextupole_terms_closed_form_against_quadrature():
    # The closed form against scipy's adaptive quadrature of drift optics (a cubic: exact to rounding).
    k2, length = 0.05, 1.7
    terms = mx.sextupole_chromatic_terms(k2, length, **OPTICS_IN)
    d0, dp0 = OPTICS_IN["dispersion_m"], OPTICS_IN["dispersion_prime"]
    expected = []
    for plane in ("x", "y"):
        b, a = OPTICS_IN[f"beta_{plane}_m"], OPTICS_IN[f"alpha_{plane}"]
        g = (1 + a * a) / b
        val, _ = quad(lambda s: (b - 2 * a * s + g * s * s) * (d0 + dp0 * s), 0, length,
                      epsabs=0, epsrel=1e-13)
        expected.append(val * k2 / (4 * math.pi))
    assert math.isclose(terms.dq_x, expected[0], rel_tol=1e-13)
    assert math.isclose(terms.dq_y, -expected[1], rel_tol=1e-13)


def test_bend_terms_against_sliced_matrices_and_limits():
    # Independent of the Gauss-Legendre integration: carry the optics with the on-momentum
    # sector_bend matrices through 4000 slices and integrate by Simpson's rule (error ~ds^4:
    # 1e-15 relative; the 4000 matrix products add ~1e-13 of rounding, hence 1e-11).
    angle, length = 0.4, 5.0
    h = angle / length
    terms = mx.sector_bend_chromatic_terms(angle, length, **OPTICS_IN)
    n = 4000
    b, a = OPTICS_IN["beta_x_m"], OPTICS_IN["alpha_x"]
    d, dp = OPTICS_IN["dispersion_m"], OPTICS_IN["dispersion_prime"]
    gy = (1 + OPTICS_IN["alpha_y"] ** 2) / OPTICS_IN["beta_y_m"]
    twiss = mx.PeriodicTwiss(b, a, (1 + a * a) / b, 0.0, 0.0, d, dp)
    along = mx.propagate_twiss([mx.sector_bend(angle / n, length / n) for _ in range(n)], twiss)
    gx = (1 + along.alpha**2) / along.beta_m
    fx = h * (along.dispersion_m * gx - 2 * along.dispersion_prime * along.alpha)
    fy = h * along.dispersion_m * gy
    simpson = lambda f: (length / n / 3) * (f[0] + f[-1] + 4 * f[1:-1:2].sum() + 2 * f[2:-1:2].sum())  # noqa: E731
    by_end = OPTICS_IN["beta_y_m"] - 2 * OPTICS_IN["alpha_y"] * length + gy * length**2
    edges = h * (OPTICS_IN["beta_y_m"] * dp - by_end * along.dispersion_prime[-1])
    assert math.isclose(terms.dq_x, simpson(fx) / (4 * math.pi), rel_tol=1e-11)
    assert math.isclose(terms.dq_y, (simpson(fy) + edges) / (4 * math.pi), rel_tol=1e-11)
    # no bend, no term; a bend cut in two with the inner faces off is the whole bend
    assert mx.sector_bend_chromatic_terms(0.0, length, **OPTICS_IN) == mx.ChromaticTerms(0.0, 0.0)
    first = mx.sector_bend_chromatic_terms(angle / 2, length / 2, **OPTICS_IN, exit_edge=False)
    mid = {"beta_x_m": along.beta_m[n // 2], "alpha_x": along.alpha[n // 2],
           "beta_y_m": OPTICS_IN["beta_y_m"] - OPTICS_IN["alpha_y"] * length + gy * length**2 / 4,
           "alpha_y": OPTICS_IN["alpha_y"] - gy * length / 2,
           "dispersion_m": along.dispersion_m[n // 2], "dispersion_prime": along.dispersion_prime[n // 2]}
    second = mx.sector_bend_chromatic_terms(angle / 2, length / 2, **mid, entrance_edge=False)
    assert math.isclose(first.dq_x + second.dq_x, terms.dq_x, rel_tol=1e-10)
    assert math.isclose(first.dq_y + second.dq_y, terms.dq_y, rel_tol=1e-10)
