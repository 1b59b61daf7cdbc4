"""beamkit.fits.fit_polynomial against numpy's own covariance and against Monte Carlo."""

import numpy as np
import pytest

from beamkit.fits import fit_polynomial


def test_exact_polynomial_is_recovered():
    x = np.linspace(-10.0, 10.0, 11)
    truth = np.array([2.0e-7, -1.07e-6, 3.0e-9, -4.0e-11])
    fit = fit_polynomial(x, np.polynomial.polynomial.polyval(x, truth), 3)
    # noise-free data: only rounding (1e-16 relative of the largest term, ~1e-5 of the data)
    np.testing.assert_allclose(fit.coefficients, truth, rtol=1e-9, atol=1e-20)
    assert fit.chi2_ndf < 1e-20


def test_covariance_matches_numpy_polyfit_scaled_covariance():
    """numpy.polyfit(cov=True) scales by chi^2/(n - deg - 1): an independent implementation."""
    rng = np.random.default_rng(3)
    x = np.linspace(-3.0, 7.0, 15)
    y = 0.5 - 1.2 * x + 0.03 * x ** 2 + rng.normal(0.0, 0.1, x.size)
    fit = fit_polynomial(x, y, 2, sigma=0.05)
    p, cov = np.polyfit(x, y, 2, cov=True)
    # two least-squares solvers on a well-conditioned 15x3 problem: rounding only
    np.testing.assert_allclose(fit.coefficients, p[::-1], rtol=1e-10)
    np.testing.assert_allclose(fit.covariance, cov[::-1, ::-1], rtol=1e-8)


def test_birge_scaling_makes_errors_independent_of_the_sigma_given():
    rng = np.random.default_rng(4)
    x = np.linspace(0.0, 1.0, 9)
    y = 1.0 + 2.0 * x + rng.normal(0.0, 0.01, x.size)
    a = fit_polynomial(x, y, 1, sigma=1.0)
    b = fit_polynomial(x, y, 1, sigma=10.0)
    np.testing.assert_allclose(a.covariance, b.covariance, rtol=1e-12)  # rounding
    assert b.chi2_ndf == pytest.approx(a.chi2_ndf / 100.0, rel=1e-12)


def test_birge_scaled_errors_cover_the_truth():
    """Pulls of the slope follow Student's t with ndf = 8: standard deviation sqrt(8/6)."""
    rng = np.random.default_rng(5)
    x = np.linspace(-5.0, 5.0, 11)
    pulls = []
    for _ in range(2000):
        y = 0.3 + 0.7 * x - 0.02 * x ** 2 + rng.normal(0.0, 0.2, x.size)
        fit = fit_polynomial(x, y, 2)
        pulls.append((fit.coefficients[1] - 0.7) / fit.errors[1])
    # 2000 pulls: the sample std has a relative error of ~1.6% (t tails: ~2%); 4 sigma
    assert np.std(pulls) == pytest.approx(np.sqrt(8 / 6), rel=0.08)
    assert abs(np.mean(pulls)) < 4 * 1.15 / np.sqrt(2000)
