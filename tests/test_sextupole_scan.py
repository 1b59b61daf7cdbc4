"""beamkit.sextupole_scan against xtrack, closed forms and Monte Carlo; one test per trap
of the physics notes ("Beam size from sextupole strength changes")."""

import concurrent.futures

import numpy as np
import pytest

from beamkit import madx
from beamkit import sextupole_scan as ss
from beamkit.errors import BeamkitWarning

SIGMA_X_M = 1.4e-3  # the source's toy-lattice beam size


@pytest.fixture(scope="module")
def toy():
    return ss.fodo_ring(sigma_x_m=SIGMA_X_M)


def _index(tw, name):
    return list(tw.name).index(name)


# ------------------------------------------------------------------------------ the model
def test_design_optics_agree_with_xtrack(toy):
    tw = toy.to_xtrack().twiss(method="4d")
    i = _index(tw, "sf0")
    optics = ss.design_optics(toy, 0)
    # same thin elements in two codes: agreement to rounding (xtrack finds the periodic
    # solution by finite differences, ~1e-9 relative)
    assert optics.beta_x_m == pytest.approx(tw.betx[i], rel=1e-8)
    assert optics.beta_y_m == pytest.approx(tw.bety[i], rel=1e-8)
    assert optics.dispersion_x_m == pytest.approx(tw.dx[i], rel=1e-8)
    assert optics.q_x == pytest.approx(tw.qx % 1, abs=1e-9)
    assert optics.q_y == pytest.approx(tw.qy % 1, abs=1e-9)
    assert optics.alpha_c == pytest.approx(tw.momentum_compaction_factor, rel=1e-8)


def test_closed_orbit_and_tunes_with_misaligned_sextupole_agree_with_xtrack(toy):
    ring = toy.with_changes(k2l=[8.0], shift_x_m=[-1.0e-3], shift_y_m=[0.5e-3])
    orb = ss.closed_orbit(ring, 0)
    tw = ring.to_xtrack().twiss(method="4d")
    i = _index(tw, "sf0")
    # Newton on exact thin maps vs xtrack's closed-orbit search: 1e-9 relative (xtrack's
    # finite-difference Jacobian sets the floor)
    assert orb.x_m == pytest.approx(tw.x[i], rel=1e-9)
    assert orb.y_m == pytest.approx(tw.y[i], rel=1e-9)
    np.testing.assert_allclose(orb.x_bpm_m, tw.rows["bpm.*"].x, rtol=1e-8, atol=1e-15)
    assert orb.q_x == pytest.approx(tw.qx % 1, abs=1e-9)
    assert orb.q_y == pytest.approx(tw.qy % 1, abs=1e-9)


# ------------------------------------------------------------------- first-order relations
def test_quadrupole_term_from_tunes_for_a_tiny_change(toy):
    """dK1L = dmu_x/beta_x - dmu_y/beta_y equals dK2L (X0 + dx) to first order."""
    ring = toy.with_changes(shift_x_m=[-1.0e-3])  # beam at X0 = +1 mm from the centre
    base = ss.closed_orbit(ring, 0)
    dk2l = 1e-2
    orb = ss.closed_orbit(ring, 0, k2l_override={0: dk2l})
    opt = ss.design_optics(ring, 0)
    dk1l = ss.quadrupole_term_from_tunes(orb.q_x - base.q_x, orb.q_y - base.q_y, opt.beta_x_m,
                                         opt.beta_y_m)[0]
    exact = dk2l * (orb.x_m + 1.0e-3)
    # the tune formula errs at second order, beta K1L ~ 2e-4: tolerance 1e-3 relative
    assert dk1l == pytest.approx(exact, rel=1e-3)
    assert dk1l > 0  # code convention: a beam outside (+x) a positive sextupole sees focusing


def test_orbit_response_4d_for_a_tiny_kick(toy):
    """A tiny superposed dipole theta gives dx = beta cot(pi Q)/2 theta at the kick."""
    ring = toy.with_changes(k2l=[1e-6])  # b0 = k2l sigma^2/2 ~ 1e-12 rad: orbit linear
    theta = -0.5 * 1e-6 * SIGMA_X_M ** 2
    orb = ss.closed_orbit(ring, 0)
    opt = ss.design_optics(ring, 0)
    # closed form for a linear ring with one thin kick; the sextupole's own feed-down is
    # O(k2l dx) ~ 1e-18: rounding only
    assert orb.x_m / theta == pytest.approx(ss.orbit_response_m_per_rad(opt.beta_x_m, opt.q_x),
                                            rel=1e-7)


def test_trap_6d_orbit_response_has_a_dispersion_term(toy):
    """RF on: dx = (beta cot(pi Q)/2 - D^2/(alpha_c C)) theta; the 4D form is biased."""
    ring = toy.with_changes(k2l=[1e-6])
    theta = -0.5 * 1e-6 * SIGMA_X_M ** 2
    orb = ss.closed_orbit(ring, 0, six_d=True)
    opt = ss.design_optics(ring, 0)
    kick_6d = ss.kick_from_orbit(orb.x_m, opt.beta_x_m, opt.q_x, opt.dispersion_x_m, opt.alpha_c,
                                 opt.circumference_m)[0]
    kick_4d = ss.kick_from_orbit(orb.x_m, opt.beta_x_m, opt.q_x)[0]
    # closed form, linear model: rounding (the cavity's synchrotron coupling does not enter
    # the fixed point)
    assert kick_6d == pytest.approx(theta, rel=1e-7)
    assert abs(kick_4d / theta - 1) > 0.1  # the 4D relation on a 6D orbit is far off here
    # and the size of the bias is the ratio of the two terms of the closed form
    r4 = ss.orbit_response_m_per_rad(opt.beta_x_m, opt.q_x)
    r6 = ss.orbit_response_m_per_rad(opt.beta_x_m, opt.q_x, opt.dispersion_x_m, opt.alpha_c,
                                     opt.circumference_m)
    assert kick_4d / theta == pytest.approx(r6 / r4, rel=1e-7)


def test_6d_orbit_agrees_with_xtrack_at_fixed_path_length(toy):
    """Independent 6D check: xtrack has no cavity in this ring, so solve its 4D off-momentum
    closed orbit for the momentum at which the path length is the design one (what a fixed RF
    frequency enforces, ultra-relativistic) and compare the orbit at the sextupole."""
    ring = toy.with_changes(k2l=[1e-3])
    line = ring.to_xtrack()

    def slip_and_x(delta):
        tw = line.twiss(method="4d", delta0=delta)
        return tw.zeta[-1] - tw.zeta[0], tw.x[list(tw.name).index("sf0")]

    z0, _ = slip_and_x(0.0)
    z1, _ = slip_and_x(1e-6)
    _, x_fixed_length = slip_and_x(-z0 * 1e-6 / (z1 - z0))  # path length linear in delta here
    orb = ss.closed_orbit(ring, 0, six_d=True)
    # orbit of 4.6e-9 m; xtrack's closed-orbit search converges to ~1e-15 m absolute
    # (difference seen 4e-15 m); the 4D orbit differs by 1.8e-9 m, so the check can fail
    assert orb.x_m == pytest.approx(x_fixed_length, abs=2e-14)
    assert abs(ss.closed_orbit(ring, 0).x_m - x_fixed_length) > 1e-9


# ------------------------------------------------------------------------- reconstruction
@pytest.mark.parametrize("shift_x_m, shift_y_m", [(0.0, 0.0), (-1.0e-3, 0.0), (0.0, -1.0e-3)])
def test_sigma_from_noise_free_dipole_model(toy, shift_x_m, shift_y_m):
    ring = toy.with_changes(shift_x_m=[shift_x_m], shift_y_m=[shift_y_m])
    scan = ss.simulate_scan(ring, 0)
    rec = ss.reconstruct_scan(scan)
    # issue: better than 0.1%; the residual comes from the first-order tune formula for X0
    assert rec.sigma_x_m == pytest.approx(SIGMA_X_M, rel=1e-3)
    assert rec.x0_m == pytest.approx(-shift_x_m, abs=1e-6)
    assert rec.y0_m == pytest.approx(-shift_y_m, abs=1e-9)  # M13/M12 is exact


def test_trap_feed_down_when_initial_strength_is_not_zero(toy):
    ring = toy.with_changes(k2l=[6.0], shift_x_m=[-1.0e-3])
    scan = ss.simulate_scan(ring, 0)
    good = ss.reconstruct_scan(scan)
    naive = ss.reconstruct_scan(scan, use_orbit=False)  # forgets (K2L0 + dK2L) dx
    x0 = scan.x0_m
    # with the correction: first-order tune formula only (1e-3 relative)
    assert good.x0_m == pytest.approx(x0, rel=2e-3)
    assert good.sigma_x_m == pytest.approx(SIGMA_X_M, rel=2e-3)
    # without it X0 is biased by K2L0 dx/dK2L (measured here, not from the code under test)
    bias = scan.k2l0 * np.polyfit(scan.dk2l, scan.dx_m[0], 1)[0]
    assert naive.x0_m - x0 == pytest.approx(bias, rel=0.05)
    assert abs(naive.x0_m - x0) > 20 * abs(good.x0_m - x0)


def test_trap_sign_convention_of_the_tune_difference(toy):
    """The source's dmu_y/beta_y - dmu_x/beta_x (its b1 sign) returns -X0 in code convention."""
    ring = toy.with_changes(shift_x_m=[-1.0e-3])
    scan = ss.simulate_scan(ring, 0, dk2l=np.linspace(-1, 1, 5))
    ours = np.polyfit(scan.dk2l, scan.dk1l[0], 1)[0]
    theirs = np.polyfit(scan.dk2l, -scan.dk1l[0], 1)[0]
    assert ours == pytest.approx(scan.x0_m, rel=1e-3)  # first-order formula, small dK
    assert theirs == pytest.approx(-scan.x0_m, rel=1e-3)


def test_trap_skew_term_from_the_one_turn_matrix_is_exact(toy):
    """a1 = M13/M12 before the sextupole equals k2l (y - Y_sext) at any strength."""
    ring = toy.with_changes(shift_x_m=[-1.0e-3], shift_y_m=[1.0e-3])
    k2l = 20.0
    orb = ss.closed_orbit(ring, 0, k2l_override={0: k2l})
    # exact for a thin kick in an otherwise uncoupled ring: rounding
    assert orb.a1_per_m == pytest.approx(k2l * (orb.y_m - 1.0e-3), rel=1e-9)
    # the tune route to the quadrupole term picks up a coupling bias at this strength
    base = ss.closed_orbit(ring, 0)
    opt = ss.design_optics(ring, 0)
    dk1l = ss.quadrupole_term_from_tunes(orb.q_x - base.q_x, orb.q_y - base.q_y, opt.beta_x_m,
                                         opt.beta_y_m)[0]
    assert abs(dk1l / (k2l * (orb.x_m + 1.0e-3)) - 1) > 1e-3


def _noisy_reconstructions(ring, n, seed):
    rng = np.random.default_rng(seed)
    noise = {"q": 2e-5, "a1_per_m": 2e-5, "orbit_m": 2e-6, "angle_rad": 2e-7}
    return [ss.reconstruct_scan(ss.simulate_scan(ring, 0, n_repeats=3, noise=noise, rng=rng), degree=3)
            for _ in range(n)]


def test_noisy_sigma_within_propagated_uncertainty(toy):
    """Monte Carlo: pulls of sigma_x near 1 (33 points, ndf 30: Student t std 1.03)."""
    ring = toy.with_changes(shift_x_m=[-1.0e-3], shift_y_m=[-0.5e-3])
    recs = _noisy_reconstructions(ring, 300, seed=11)
    sig = np.array([r.sigma_x_m for r in recs])
    err = np.array([r.sigma_x_err_m for r in recs])
    pulls = (sig - SIGMA_X_M) / err
    # 300 trials: std of the std ~4%; the bias of sigma (a square root of a noisy sigma^2)
    # is ~ err^2/sigma, negligible here. 4-sigma bands.
    assert np.std(pulls) == pytest.approx(1.03, rel=0.17)
    assert abs(np.mean(pulls)) < 4 / np.sqrt(300)


def test_trap_error_propagation_formula(toy):
    """d(sigma^2) = 2 sqrt(ds^2 + (X0 dX0)^2 + (Y0 dY0)^2): the source's Eq. 30 read as
    4 [ ... ] (a variance, not an error) does not describe the scatter."""
    ring = toy.with_changes(shift_x_m=[-2.0e-3], shift_y_m=[-1.0e-3])
    recs = _noisy_reconstructions(ring, 200, seed=12)
    s2 = np.array([r.sigma_x2_m2 for r in recs])
    ours = np.median([r.sigma_x2_err_m2 for r in recs])
    literal = np.median([4 * (r.slope_dpx_err ** 2 + (r.x0_m * r.x0_err_m) ** 2 + (r.y0_m * r.y0_err_m) ** 2)
                         for r in recs])
    # the same quadrature without the factor 2 of sigma^2 = -2 slope - X0^2 + Y0^2 (same units,
    # so this check can fail; the literal 4[...] above is a variance, in m^4, off by orders of magnitude)
    no_factor_2 = np.median([np.sqrt(r.slope_dpx_err ** 2 + (r.x0_m * r.x0_err_m) ** 2
                                     + (r.y0_m * r.y0_err_m) ** 2) for r in recs])
    # 200 trials: the sample std is known to ~5%; 4 sigma
    assert np.std(s2) == pytest.approx(ours, rel=0.2)
    assert np.std(s2) != pytest.approx(literal, rel=0.5)
    assert np.std(s2) != pytest.approx(no_factor_2, rel=0.3)


def test_trap_tracking_uses_one_centred_sample(toy):
    """Tracked beam: compare with the tracked RMS, one centred sample for every dK2L."""
    opt = ss.design_optics(toy, 0)
    sigma_delta = 1e-4
    eps_x_m = (SIGMA_X_M ** 2 - (opt.dispersion_x_m * sigma_delta) ** 2) / opt.beta_x_m
    kw = {"method": "tracking", "eps_x_m": eps_x_m, "eps_y_m": 1e-9, "sigma_delta": sigma_delta,
          "n_turns": 50, "dk2l": np.linspace(-10, 10, 7)}
    same = ss.simulate_scan(toy, 0, rng=np.random.default_rng(21), **kw)
    rec = ss.reconstruct_scan(same)
    # the tracked sample RMS is the truth; without offset the residual (the beam's size
    # changing with dK2L through dispersion and beta at the sextupole, folded into the
    # cubic's slope) was 5e-4 in the chapter's runs
    assert rec.sigma_x_m == pytest.approx(same.sigma_x_m, rel=5e-3)
    fresh = ss.simulate_scan(toy, 0, rng=np.random.default_rng(21), fresh_sample=True, **kw)
    rec_fresh = ss.reconstruct_scan(fresh)
    # a new sample per setting adds the sample-variance scatter (sqrt(2/N) ~ 3% of sigma^2
    # per point) to the slope
    assert abs(rec_fresh.sigma_x_m / fresh.sigma_x_m - 1) > 2 * abs(rec.sigma_x_m / same.sigma_x_m - 1)


# --------------------------------------------------------------------- calibration, survey
def test_calibration_of_one_sextupole(toy):
    ring = ss.fodo_ring(sextupoles="all").with_changes(calibration=np.full(16, 0.93))
    cal = ss.calibrate(ring, 2)
    # noise-free, other sextupoles off: the first-order tune formula errs at third order in
    # beta dK1L (dK1L up to 4e-3 here): 1e-3
    assert cal.factor == pytest.approx(0.93, rel=1e-3)
    assert abs(cal.x_zero_m) < 1e-9


def _survey_ring(k2l):
    ring = ss.fodo_ring(sextupoles="all", k2l=k2l)
    rng = np.random.default_rng(7)
    n = ring.n_sextupoles
    return ring.with_changes(calibration=1 + 0.03 * rng.standard_normal(n),
                             shift_x_m=1e-3 * rng.standard_normal(n), shift_y_m=1e-3 * rng.standard_normal(n))


def test_survey_recovers_truth_and_executor_does_not_matter():
    ring = _survey_ring(0.0)
    noise = {"q": 1e-5, "a1_per_m": 1e-5, "orbit_m": 5e-6, "angle_rad": 1e-7}
    serial = ss.survey(ring, noise=noise, seed=3)
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        threaded = ss.survey(ring, noise=noise, seed=3, executor=pool)
    np.testing.assert_array_equal(serial.calibration, threaded.calibration)
    pulls = serial.pulls()
    # 16 magnets: calibration pulls are Student t with 3 dof (5 bumps, 2 parameters):
    # std sqrt(3); offsets near 1. Loose bands for 16 samples, on both sides: an error estimate
    # 3x too large (pull std < 0.5) must fail as well as one too small.
    assert 0.5 < np.std(pulls["calibration"]) < 3.5
    assert 0.5 < np.std(pulls["x_offset"]) < 2.5
    assert 0.5 < np.std(pulls["y_offset"]) < 2.5
    assert np.std(serial.calibration - serial.calibration_true) < 0.01
    assert np.std(serial.x_offset_m - serial.x_offset_true_m) < 3e-5


def test_closed_orbit_and_tunes_agree_with_madx(toy, mad):
    """A third code: MAD-X with the same thin multipoles and an EALIGN misalignment."""
    ring = toy.with_changes(k2l=[8.0], shift_x_m=[-1.0e-3], shift_y_m=[0.5e-3])
    mad.input(ring.madx_input())
    mad.input("twiss;")
    tw = mad.madx.table.twiss
    names = [n.split(":")[0] for n in tw.name]
    i = names.index("sf0")
    orb = ss.closed_orbit(ring, 0)
    opt = ss.design_optics(toy, 0)
    # MAD-X's closed-orbit search stops on its own tolerance; it agreed to 5e-11 relative
    # when this test was written: 1e-9 leaves room for its convergence criterion
    assert orb.x_m == pytest.approx(tw.x[i], rel=1e-9)
    assert orb.y_m == pytest.approx(tw.y[i], rel=1e-9)
    assert orb.q_x == pytest.approx(mad.madx.table.summ.q1[0] % 1, abs=1e-10)
    assert orb.q_y == pytest.approx(mad.madx.table.summ.q2[0] % 1, abs=1e-10)
    # design optics: MAD-X on the ring with the sextupole off, in a fresh session
    with madx.session() as bare:
        bare.input(toy.with_changes(k2l=[0.0]).madx_input() + "twiss;")
        tw0 = bare.madx.table.twiss
        j = [n.split(":")[0] for n in tw0.name].index("sf0")
        # periodic solution from the one-turn matrix in double precision: rounding
        assert opt.beta_x_m == pytest.approx(tw0.betx[j], rel=1e-8)
        assert opt.dispersion_x_m == pytest.approx(tw0.dx[j], rel=1e-8)


def test_trap_tunes_about_the_beam_centre(toy):
    """With K2L0 != 0 the beam-size kick -(K2L0 + dK2L) sigma^2/2 moves the beam centre away
    from the single-particle closed orbit. Tunes taken on the single-particle orbit see a
    different X0 (by K2L0 R sigma^2/2, R the orbit response) and a different feed-down slope
    (another K2L0 R sigma^2/2): X0 is biased by K2L0 R sigma^2."""
    ring = toy.with_changes(k2l=[6.0], shift_x_m=[-1.0e-3])
    beam = ss.simulate_scan(ring, 0)  # closed orbit with the beam-size dipole = beam centre
    single = ss.simulate_scan(ring.with_changes(sigma_x_m=0.0), 0)  # a single particle
    x, dx = beam.flat("dx_m")
    _, dy = beam.flat("dy_m")
    _, da1 = beam.flat("da1")
    _, dpx = beam.flat("dpx")
    right = ss.reconstruct(x, beam.dk1l.ravel(), da1, dpx, dx, dy, k2l0=beam.k2l0)
    wrong = ss.reconstruct(x, single.dk1l.ravel(), da1, dpx, dx, dy, k2l0=beam.k2l0)
    opt = ss.design_optics(ring, 0)
    # closed-form size of the bias, to first order; the powered, offset sextupole's quadrupole
    # term (K2L0 X0 = 6e-3 1/m) changes the response R by a few per cent: 10%
    expected = beam.k2l0 * ss.orbit_response_m_per_rad(opt.beta_x_m, opt.q_x) * SIGMA_X_M ** 2
    assert right.x0_m == pytest.approx(beam.x0_m, rel=2e-3)  # first-order tune formula
    assert wrong.x0_m - right.x0_m == pytest.approx(expected, rel=0.1)
    assert abs(wrong.x0_m - beam.x0_m) > 5 * abs(right.x0_m - beam.x0_m)


def test_negative_sigma_squared_warns_and_gives_nan():
    dk2l = np.linspace(-10.0, 10.0, 11)
    # a slope of +1 urad m^2 (sigma^2 = -2e-6 m^2) with no offsets
    with pytest.warns(BeamkitWarning, match="sigma_x"):
        rec = ss.reconstruct(dk2l, np.zeros(11), np.zeros(11), 1e-6 * dk2l + 1e-9 * np.sin(dk2l))
    assert np.isnan(rec.sigma_x_m) and rec.sigma_x2_m2 < 0
