"""Weighted polynomial fits with Birge-scaled uncertainties.

The CESR sextupole measurements :cite:p:`crittenden2025cesr` estimate the error of each
point from the scatter of the points themselves: the residual weights are scaled so that
chi^2/ndf = 1 (the Birge factor). :func:`fit_polynomial` does that for a weighted polynomial
fit. The polynomial basis comes from numpy; the statistics (weights, covariance, Birge
scaling, chi^2) are computed here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import _validate as v
from .errors import IllConditionedError, InputError

__all__ = ["PolynomialFit", "fit_polynomial"]


@dataclass(frozen=True)
class PolynomialFit:
    """Result of :func:`fit_polynomial`.

    Attributes
    ----------
    coefficients : numpy.ndarray
        Shape (degree + 1,). Polynomial coefficients, lowest order first, in the units of ``y`` per unit of
        ``x`` to that power.
    covariance : numpy.ndarray
        Shape (degree + 1, degree + 1). Covariance of the coefficients, scaled by the Birge
        factor chi^2/ndf so that it is the covariance one would get if chi^2/ndf were 1 (the
        errors come from the scatter).
    chi2_ndf : float
        chi^2/ndf of the fit with the weights given (1/sigma^2, or 1 when ``sigma`` is None).
    residuals : numpy.ndarray
        ``y`` minus the fitted polynomial at each ``x``, in the units of ``y``.
    ndf : int
        Number of degrees of freedom, ``len(x) - degree - 1``.
    """

    coefficients: np.ndarray
    covariance: np.ndarray
    chi2_ndf: float
    residuals: np.ndarray
    ndf: int

    @property
    def errors(self):
        """One-standard-deviation (Birge-scaled) errors of the coefficients."""
        return np.sqrt(np.diag(self.covariance))

    @property
    def birge_factor(self):
        """The factor sqrt(chi^2/ndf) by which the input errors were scaled."""
        return float(np.sqrt(self.chi2_ndf))

    def __call__(self, x):
        """The fitted polynomial at ``x``."""
        return np.polynomial.polynomial.polyval(np.asarray(x, dtype=float), self.coefficients)

    def to_frame(self):
        """The coefficients and their errors as a table (one row per order)."""
        return pd.DataFrame({"order": np.arange(self.coefficients.size),
                             "coefficient": self.coefficients, "error": self.errors})


def fit_polynomial(x, y, degree, sigma=None):
    """Weighted least-squares polynomial fit with errors scaled so that chi^2/ndf = 1.

    Parameters
    ----------
    x, y : array_like, shape (n,)
        Abscissa and data, any (consistent) units.
    degree : int
        Polynomial degree, at least 0, with ``n > degree + 1`` so that chi^2/ndf exists.
    sigma : array_like or float, optional
        One-standard-deviation errors of ``y`` (only their ratios matter for the returned
        covariance, which is Birge-scaled). ``None`` means equal weights.

    Returns
    -------
    PolynomialFit

    Notes
    -----
    The abscissa is scaled to [-1, 1] before the Vandermonde matrix is built (its condition
    number would otherwise grow as max|x|^degree) and the coefficients are transformed back
    exactly. The covariance is ``(A^T W A)^-1 * chi2/ndf`` :cite:p:`crittenden2025cesr`.

    Raises
    ------
    beamkit.errors.InputError
        Mismatched or non-finite arrays, too few points, non-positive ``sigma``.
    beamkit.errors.IllConditionedError
        Fewer distinct ``x`` values than coefficients.
    """
    x = v.array("x", x, ndim=1, min_size=1)
    y = v.array("y", y, ndim=1, min_size=1)
    v.same_shape(x=x, y=y)
    degree = v.integer("degree", degree, minimum=0)
    n = x.size
    if n <= degree + 1:
        raise InputError("degree", degree, f"needs more than degree + 1 points to estimate errors, "
                         f"got {n} points", "lower the degree or give more points")
    if sigma is None:
        sig = np.ones(n)
    elif np.ndim(sigma) == 0:
        sig = np.full(n, v.scalar("sigma", sigma, positive=True, fix="give a positive error"))
    else:
        sig = v.array("sigma", sigma, ndim=1, positive=True, fix="give one positive error per point")
        v.same_shape(x=x, sigma=sig)
    if np.unique(x).size < degree + 1:
        raise IllConditionedError("x", x, f"has {np.unique(x).size} distinct values, fewer than the "
                                  f"{degree + 1} coefficients", "give more distinct abscissae")
    centre = 0.5 * (x.max() + x.min())
    half = 0.5 * (x.max() - x.min()) or 1.0
    t = (x - centre) / half
    a = np.polynomial.polynomial.polyvander(t, degree) / sig[:, None]
    b = y / sig
    coef_t, *_ = np.linalg.lstsq(a, b, rcond=None)
    cov_t = np.linalg.inv(a.T @ a)
    # coefficients in x: p(x) = sum c_t,k ((x - centre)/half)^k; T maps c_t to c_x (linear)
    transform = np.zeros((degree + 1, degree + 1))
    for k in range(degree + 1):
        # the polynomial ((x - centre) / half)^k written in powers of x
        powers = np.polynomial.polynomial.polypow([-centre / half, 1.0 / half], k)
        transform[: powers.size, k] = powers
    coefficients = transform @ coef_t
    residuals = y - np.polynomial.polynomial.polyval(x, coefficients)
    ndf = n - degree - 1
    chi2_ndf = float(np.sum((residuals / sig) ** 2) / ndf)
    covariance = transform @ cov_t @ transform.T * chi2_ndf
    return PolynomialFit(coefficients=coefficients, covariance=covariance, chi2_ndf=chi2_ndf,
                         residuals=residuals, ndf=ndf)
