"""Chromaticity of twiss_matrices: bends' first-order terms and sextupoles (issue 9, points 9, 10).

Independent source: MAD-X's plain ``twiss`` (``dq1``, ``dq2`` from its second-order TRANSPORT
maps, times beta0 to convert from pt to delta), through cpymad. Its value is analytic; the
matrices' ``k/(1+delta)`` part is a central difference with delta_step = 1e-6, whose rounding
is ~1e-16 / 1e-6 times the number of products (measured 2e-11 on the LHC cell, 2.4e-10 on
the 12-cell ring below), and whose truncation (delta_step^2 Q'''/6) is ~1e-12. Hence the
tolerances 1e-10 (one cell) and 1e-9 (a ring of ~100 elements).

Second independent source (the last test): xtrack, whose bend models can drop the pole-face
term (``edge='linear'``) or the body term (``core='expanded'``) one at a time.
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
    # slicing the bends changes nothing: inner cuts carry no pole face, and the integrals are
    # exact per piece; only the rounding of the sum over the pieces differs (measured <= 5e-15
    # on these four, 1e-13 with sextupoles): 1e-13, where 1e-11 would hide a piece's error
    fine = optics.twiss_matrices(lattice, max_step_m=0.1)
    assert abs(fine.dq_x - t.dq_x) < 1e-13 and abs(fine.dq_y - t.dq_y) < 1e-13


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


# ---------------------------------------------------------------------------------------
# Lattices the tests above do not use (fresh-eyes review of points 9 and 10): strong bends
# with large D' in them, a reverse bend (D not symmetric, h < 0), sextupoles where
# alpha != 0 and D' != 0, thin quadrupoles, odd slicing, another delta_step; and xtrack's
# bend models, which switch each of the two bend terms off on their own.

def _strong_cell():
    # one cell of an 8-cell ring: two 0.39 rad bends in 10 m; |D'| up to 0.46, D up to 3.7 m
    return lattices.fodo_cell(10.0, 4.0, quad_length_m=0.6, bend_angle_rad=2 * math.pi / 8)


def _reverse_bend_cell():
    # the second bend bends the other way (h < 0) with 0.4 of the first one's angle
    cell = lattices.fodo_cell(20.0, 7.0, quad_length_m=1.0, bend_angle_rad=0.3)
    mags = [m if m.name != "mb2" else
            lattices.Magnet("mb2", "sbend", m.at_m, m.length_m, {"angle": "-0.4 * theta"})
            for m in cell.magnets]
    return lattices.Lattice("fodo", cell.length_m, tuple(mags), cell.variables, "proton", 7e12,
                            "reverse bend")


def _sextupole_cell():
    # 0.2 rad bends of 4 m; strong sextupoles next to them and to QD, where alpha_x, alpha_y,
    # D and D' are all non-zero (Q'_x = +2.98 from the sextupoles, Q'_y = -0.73)
    cell = lattices.fodo_cell(20.0, 7.0, quad_length_m=1.0, bend_angle_rad=0.4, bend_length_m=4.0)
    mags = list(cell.magnets) + [
        lattices.Magnet("sx1", "sextupole", 7.9, 0.8, {"k2": "k2a"}),
        lattices.Magnet("sx2", "sextupole", 12.4, 0.6, {"k2": "k2b"}),
        lattices.Magnet("sx3", "sextupole", 18.5, 0.5, {"k2": "k2a"}),
    ]
    return lattices.Lattice("fodo", cell.length_m, tuple(mags), dict(cell.variables, k2a=0.8, k2b=-1.3),
                            "proton", 7e12, "sextupoles in the dispersion")


def _thin_equivalent(lattice):
    """The lattice with each thick quadrupole replaced by a thin one of the same k1 l at its
    centre: what ``thin=True`` models, written out for MAD-X (bends, sextupoles stay thick)."""
    mags = [lattices.Magnet(m.name, "thin_quadrupole", m.at_m, 0.0,
                            {"k1l": lattice.strength(m, "k1") * m.length_m})
            if m.kind == "quadrupole" else m for m in lattice.magnets]
    return lattices.Lattice(lattice.name, lattice.length_m, tuple(mags), lattice.variables, lattice.particle,
                            lattice.energy_ev)


def _bend_parts(lattice):
    """The bends' body terms and pole-face terms, summed separately over the cell."""
    along = {}
    for plane in ("x", "y"):
        sl = lattice.transfer_matrices(plane)
        along[plane] = mx.propagate_twiss([s.matrix for s in sl],
                                          mx.periodic_twiss(mx.line_matrix(s.matrix for s in sl), plane))
    body, edges = np.zeros(2), np.zeros(2)
    for i, s in enumerate(lattice.transfer_matrices("x")):
        if s.kind != "sbend":
            continue
        mag = next(m for m in lattice.magnets if m.name == s.name)
        ds = s.s_end_m - s.s_start_m
        angle = lattice.strength(mag, "angle") * ds / mag.length_m
        opt = {"beta_x_m": along["x"].beta_m[i], "alpha_x": along["x"].alpha[i],
               "beta_y_m": along["y"].beta_m[i], "alpha_y": along["y"].alpha[i],
               "dispersion_m": along["x"].dispersion_m[i], "dispersion_prime": along["x"].dispersion_prime[i]}
        inner = mx.sector_bend_chromatic_terms(angle, ds, **opt, entrance_edge=False, exit_edge=False)
        full = mx.sector_bend_chromatic_terms(angle, ds, **opt, entrance_edge=s.s_start_m == mag.start_m,
                                              exit_edge=s.s_end_m == mag.end_m)
        body += (inner.dq_x, inner.dq_y)
        edges += (full.dq_x - inner.dq_x, full.dq_y - inner.dq_y)
    return body, edges


@pytest.mark.parametrize("case", ["strong bends", "reverse bend", "sextupoles", "sextupoles thin=True"])
def test_other_lattices_against_madx_sliced_and_both_routes(mad, case):
    thin = case.endswith("thin=True")
    lattice = {"strong bends": _strong_cell, "reverse bend": _reverse_bend_cell}.get(case, _sextupole_cell)()
    m = _madx(mad, _thin_equivalent(lattice) if thin else lattice)
    t = optics.twiss_matrices(lattice, thin=thin)
    # the terms under test are large here (strong cell: bend terms 0.11 / 0.057), so a wrong
    # coefficient or sign cannot hide below the tolerance
    body, edges = _bend_parts(lattice)
    if case == "strong bends":
        assert body[0] > 0.1 and edges[1] > 5e-3 and t.table["dispersion_prime_x"].abs().max() > 0.4
    # Same budget as the module docstring (rounding of the 1e-6 central difference), measured
    # up to 9e-11 on these cells: 2e-10.
    assert abs(t.dq_x - m.dq_x) < 2e-10 and abs(t.dq_y - m.dq_y) < 2e-10
    # Slices of 0.37 m (odd numbers of unequal pieces): the inner cuts carry no pole face,
    # and the Gauss-Legendre integrals are exact per piece; measured 2e-14 (rounding), 1e-13.
    fine = optics.twiss_matrices(lattice, thin=thin, max_step_m=0.37)
    assert abs(fine.dq_x - t.dq_x) < 1e-13 and abs(fine.dq_y - t.dq_y) < 1e-13
    # The second route (matrices about the dispersive orbit), sliced as well: 1e-9 as above.
    step = 1e-6
    for plane, expected in (("x", m.dq_x), ("y", m.dq_y)):
        q = [mx.periodic_twiss(mx.line_matrix(sl.matrix for sl in lattice.off_momentum_matrices(
            plane, d, thin=thin, max_step_m=0.37)), plane).q for d in (step, -step)]
        assert abs((q[0] - q[1]) / (2 * step) - expected) < 1e-9, plane


def test_delta_step_moves_only_the_central_difference(mad):
    # The bend terms are exact derivatives; only the k/(1+delta) part is a central difference,
    # whose truncation is Q_k''' delta_step^2 / 6. So the error against MAD-X must grow by
    # exactly 100 from delta_step = 1e-4 to 1e-3 (6.8e-9 -> 6.8e-7 on the strong cell). The
    # ratio is off 100 by the delta_step^4 term (1e-6 relative) and the rounding at 1e-4
    # (~1e-12 / 7e-9): 1e-3.
    lattice = _strong_cell()
    m = _madx(mad, lattice)
    err = [optics.twiss_matrices(lattice, delta_step=d).dq_x - m.dq_x for d in (1e-4, 1e-3)]
    assert abs(err[0]) > 1e-9  # a real truncation error, not rounding
    assert math.isclose(err[1] / err[0], 100.0, rel_tol=1e-3)


@pytest.mark.slow
@pytest.mark.parametrize("case", ["lhc", "strong bends"])
def test_xtrack_bend_models_switch_off_each_term(mad, case):
    # A different code, with model switches that remove one of the two bend terms each:
    # * edge="linear" keeps only the linear edge map, so it lacks the pole faces crossed at
    #   slope D' delta: xtrack("full") - xtrack("linear") must equal the edge terms;
    # * core="expanded" uses the expanded bend Hamiltonian without the h x (px^2 + py^2)/2
    #   term: xtrack(bend-kick-bend) - xtrack(expanded) must equal the body terms.
    # xtrack's Q' here: an order-6 fit of twiss(delta0) tunes over 13 deltas in +-1e-3.
    # y: xtrack's tune is exact to ~1e-13 there (measured <= 4e-12): 2e-11. x: the
    # off-momentum closed-orbit search leaves ~1e-11 noise in Q_x, ~5e-8 in the slope
    # (measured <= 7e-8): 2e-7, still 1e-3 of the LHC cell's body term in x and 2e-6 of
    # the strong cell's.
    lattice = lattices.lhc_fodo_cell() if case == "lhc" else _strong_cell()
    m = _madx(mad, lattice)
    body, edges = _bend_parts(lattice)

    def xtrack_dq(edge, core):
        line = lattice.to_xtrack(bend_edge_model=edge)
        line.configure_bend_model(core=core, edge=edge)
        deltas = np.linspace(-1e-3, 1e-3, 13)
        tws = [line.twiss(method="4d", delta0=d) for d in deltas]
        return np.array([np.polynomial.polynomial.polyfit(deltas / 1e-3, [getattr(tw, q) for tw in tws], 6)[1]
                         / 1e-3 for q in ("qx", "qy")])

    full = xtrack_dq("full", "bend-kick-bend")
    tol = np.array([2e-7, 2e-11])
    assert np.all(np.abs(full - [m.dq_x, m.dq_y]) < tol)
    assert np.all(np.abs((full - xtrack_dq("linear", "bend-kick-bend")) - edges) < tol)
    assert np.all(np.abs((full - xtrack_dq("full", "expanded")) - body) < tol)
