"""beamkit.beam: matched Gaussian beams and their moments, against the Twiss functions used."""

import numpy as np
import pytest

from beamkit.beam import PlaneMoments, beam_moments, matched_gaussian, moments


def _beam(n=200_000, seed=1):
    return matched_gaussian(n, beta_x_m=20, alpha_x=1.5, eps_x_m=2e-6, beta_y_m=10, alpha_y=0,
                            eps_y_m=1e-6, sigma_delta=1e-3, dispersion_x_m=3.0, dispersion_prime_x=0.1,
                            seed=seed)


def test_beam_moments_recover_matched_twiss():
    b = _beam()
    m = beam_moments(b["x"], b["px"], b["delta"])
    # statistical error of second moments ~ sqrt(2/N) = 0.3 %; tolerance 1.5 % (5 sigma)
    assert np.isclose(m["eps_betatron_m"], 2e-6, rtol=0.015)
    assert np.isclose(m["dx_m"], 3.0, rtol=0.015)
    assert np.isclose(m["dpx"], 0.1, rtol=0.05)
    assert abs(beam_moments(b["y"], b["py"])["alpha"]) < 0.02


def test_moments_name_their_plane():
    b = _beam()
    my = moments(b["y"], b["py"], plane="y")
    assert isinstance(my, PlaneMoments) and my.plane == "y"
    named = my.as_dict()
    assert "sigma_y_m" in named and "sigma_x_m" not in named and "alpha_y" in named
    # Closed form: sigma_y = sqrt(eps beta); sqrt(2/N) statistics, 5 sigma = 1.6 %.
    assert np.isclose(named["sigma_y_m"], np.sqrt(1e-6 * 10), rtol=0.016)
    assert np.isclose(named["beta_y_m"], 10.0, rtol=0.016)
    with pytest.raises(AttributeError):
        my.sigma_m = 0.0


def test_moments_with_dispersion_split_betatron_and_total():
    # Total emittance from the closed form of a Gaussian with dispersion:
    # <x^2> = eps beta + D^2 s^2, <px^2> = eps gamma + D'^2 s^2, <x px> = -eps alpha + D D' s^2.
    b = _beam()
    m = moments(b["x"], b["px"], b["delta"])
    eps, beta, alpha, d, dp, s2 = 2e-6, 20.0, 1.5, 3.0, 0.1, 1e-6
    gamma = (1 + alpha**2) / beta
    xx, pp, xp = eps * beta + d * d * s2, eps * gamma + dp * dp * s2, -eps * alpha + d * dp * s2
    assert np.isclose(m.eps_m, np.sqrt(xx * pp - xp**2), rtol=0.015)   # 5 sigma statistics
    assert np.isclose(m.eps_betatron_m, eps, rtol=0.015)
    assert np.isclose(m.dispersion_m, d, rtol=0.015)


def test_same_seed_same_beam_and_lost_particles_left_out():
    a, b = _beam(1000, seed=3), _beam(1000, seed=3)
    for k in a:
        assert np.array_equal(a[k], b[k])
    x = a["x"].copy()
    x[:10] = np.nan
    assert moments(x, a["px"]).n_particles == 990
    assert np.isnan(x[:10]).all()   # the caller's array is not changed


def test_twiss_ellipse_matches_beam_moments():
    # The 1-sigma ellipse of a Gaussian beam has the beam's rms size as its half-width in x:
    # max |x - centre| = sqrt(eps beta) (closed form; the 400-point curve hits the maximum
    # at phi = 0 exactly).
    from beamkit import plotting

    b = _beam(50_000, seed=2)
    m = moments(b["y"], b["py"], plane="y")
    ex, epx = plotting.twiss_ellipse(m.beta_m, m.alpha, m.eps_m, n_points=400, n_sigma=2.0,
                                     centre=(m.mean_m, m.mean_p))
    assert np.isclose(np.max(np.abs(ex - m.mean_m)), 2.0 * np.sqrt(m.eps_m * m.beta_m), rtol=1e-12)
    # Every point satisfies gamma x^2 + 2 alpha x px + beta px^2 = (n_sigma)^2 eps.
    x, px = ex - m.mean_m, epx - m.mean_p
    gamma = (1 + m.alpha**2) / m.beta_m
    assert np.allclose(gamma * x**2 + 2 * m.alpha * x * px + m.beta_m * px**2, 4.0 * m.eps_m, rtol=1e-12)


def test_betatron_twiss_closed_form_with_dispersion():
    # Closed form: the betatron part of a matched Gaussian has the launched beta, alpha and
    # eps whatever D, D' are; the total moments are those of
    # Sigma = eps [[beta, -alpha], [-alpha, gamma]] + s^2 [[D^2, D D'], [D D', D'^2]].
    b = _beam()
    m = moments(b["x"], b["px"], b["delta"])
    eps, beta, alpha, d, dp, s2 = 2e-6, 20.0, 1.5, 3.0, 0.1, 1e-6
    # second moments of N = 2e5 Gaussian particles: sqrt(2/N) = 0.3 %; 5 sigma = 1.6 %
    # relative on beta and eps, and on alpha (which scales with beta) 1.6 % of beta*gamma
    assert np.isclose(m.beta_betatron_m, beta, rtol=0.016)
    assert abs(m.alpha_betatron - alpha) < 0.016 * np.sqrt(1 + alpha**2)
    assert np.isclose(m.sigma_betatron_m, np.sqrt(eps * beta), rtol=0.008)  # sqrt: half
    gamma = (1 + alpha**2) / beta
    xx, pp, xp = eps * beta + d * d * s2, eps * gamma + dp * dp * s2, -eps * alpha + d * dp * s2
    eps_total = np.sqrt(xx * pp - xp**2)
    assert np.isclose(m.beta_m, xx / eps_total, rtol=0.016)
    assert abs(m.alpha - (-xp / eps_total)) < 0.016 * np.sqrt(1 + alpha**2)
    # with this much dispersion the two sets differ far beyond the statistics
    assert abs(m.alpha - m.alpha_betatron) > 0.2
    # the legacy dict carries the same numbers under its keys
    old = beam_moments(b["x"], b["px"], b["delta"])
    assert old["alpha_betatron"] == m.alpha_betatron and old["beta_betatron_m"] == m.beta_betatron_m
    assert old["alpha"] == m.alpha
    # and the plane-named dict names them
    named = m.as_dict()
    assert named["alpha_betatron_x"] == m.alpha_betatron and named["beta_betatron_x_m"] == m.beta_betatron_m


def test_betatron_moments_exact_on_a_sample_uncorrelated_with_delta():
    # Build a sample whose betatron part is, by construction, exactly uncorrelated with
    # delta (projections removed); adding D delta, D' delta must then give back its moments
    # to rounding, with the D, D' fitted exactly. Independent of sampling statistics.
    rng = np.random.default_rng(5)
    n = 5000
    delta = 1e-3 * rng.standard_normal(n)
    dc = delta - delta.mean()
    xb = 1e-3 * rng.standard_normal(n)
    pb = 1e-4 * rng.standard_normal(n) - 0.05 * xb
    xb -= xb.mean() + np.mean((xb - xb.mean()) * dc) / np.mean(dc * dc) * dc
    pb -= pb.mean() + np.mean((pb - pb.mean()) * dc) / np.mean(dc * dc) * dc
    ref = moments(xb, pb)
    m = moments(xb + 2.0 * delta, pb - 0.3 * delta, delta)
    # rounding of sums of 5000 numbers: 1e-12 relative
    assert np.isclose(m.dispersion_m, 2.0, rtol=1e-10) and np.isclose(m.dispersion_prime, -0.3, rtol=1e-10)
    for got, want in ((m.eps_betatron_m, ref.eps_m), (m.beta_betatron_m, ref.beta_m),
                      (m.alpha_betatron, ref.alpha), (m.sigma_betatron_m, ref.sigma_m)):
        assert np.isclose(got, want, rtol=1e-9)
    # without delta the betatron fields are NaN, never a silent total value
    assert np.isnan(moments(xb, pb).alpha_betatron)
