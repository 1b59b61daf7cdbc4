"""Least-squares solution of the source's Eq. 9 for eps_x, eps_y and sigma_p^2."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import _validate as v
from ..errors import BeamkitWarning, IllConditionedError, InputError

__all__ = ["MAX_CONDITION", "PLANES_CLOSE", "WARN_CONDITION", "EmittanceFit", "fit_emittances"]

#: Condition number (of the column-normalised matrix) above which a warning is given.
WARN_CONDITION = 1e3
#: Condition number above which the system is refused (numerically rank deficient).
MAX_CONDITION = 1e8
#: If ``|beta_x - beta_y| / (beta_x + beta_y)`` stays below this at every BPM, the planes
#: cannot be separated: only ``eps_x - <beta_y/beta_x> eps_y`` is measured.
PLANES_CLOSE = 0.05


@dataclass(frozen=True)
class EmittanceFit:
    """Emittances and momentum spread from BPM quadrupole moments (source Eq. 9).

    Attributes
    ----------
    eps_x_m, eps_y_m : float
        Geometric RMS emittances (m), defined by ``sigma^2 = beta eps + (D sigma_delta)^2``.
        The source writes ``beta eps / pi`` (its Eq. 7), so its ``eps`` is ``pi`` times ours:
        its number in units of pi mm mrad equals ours in mm mrad (an RMS emittance).
    sigma_p2 : float
        Squared RMS relative momentum spread (1): fitted, or the value given.
    covariance : numpy.ndarray
        Covariance of the fitted parameters, in the order ``eps_x_m, eps_y_m[, sigma_p2]``
        (m^2, m^2, 1).
    condition_number : float
        Ratio of the largest to the smallest singular value of the (weighted, column-
        normalised) design matrix: how much the data's errors are amplified.
    chi2_ndf : float
        ``chi^2 / ndf`` with the errors given; NaN when no errors were given (the
        covariance is then scaled from the residuals, which makes ``chi^2/ndf = 1``).
    ndf : int
        Rows minus fitted parameters.
    sigma_p2_fitted : bool
        Whether ``sigma_p2`` was a fit parameter.
    residuals_m2 : numpy.ndarray
        Data minus model, ``sigma_x^2 - sigma_y^2`` (m^2), per row.
    singular_values : numpy.ndarray
        Singular values of the column-normalised matrix.
    """

    eps_x_m: float
    eps_y_m: float
    sigma_p2: float
    covariance: np.ndarray
    condition_number: float
    chi2_ndf: float
    ndf: int
    sigma_p2_fitted: bool
    residuals_m2: np.ndarray
    singular_values: np.ndarray

    @property
    def errors(self):
        """Standard errors of the fitted parameters (same order as ``covariance``)."""
        return np.sqrt(np.diag(self.covariance))

    @property
    def correlation(self):
        """Correlation matrix of the fitted parameters."""
        e = self.errors
        return self.covariance / np.outer(e, e)

    def to_frame(self):
        """A table: parameter, value, standard error, unit."""
        names = ["eps_x_m", "eps_y_m"] + (["sigma_p2"] if self.sigma_p2_fitted else [])
        values = [self.eps_x_m, self.eps_y_m] + ([self.sigma_p2] if self.sigma_p2_fitted else [])
        units = ["m", "m", "1"][: len(names)]
        return pd.DataFrame({"parameter": names, "value": values, "error": self.errors, "unit": units})


def _design(beta_x, beta_y, disp2, fit_sigma_p2):
    cols = [beta_x, -beta_y] + ([disp2] if fit_sigma_p2 else [])
    return np.stack(cols, axis=-1)


def fit_emittances(beta_x_m, beta_y_m, dispersion_x_m, quad_term_m2, sigma=None, sigma_p2=None):
    """Solve ``beta_x eps_x - beta_y eps_y + D_x^2 sigma_p^2 = sigma_x^2 - sigma_y^2`` by SVD.

    Each row is one BPM (or one sample of one BPM) with its optics and its measured
    ``sigma_x^2 - sigma_y^2`` (from :func:`beamkit.bpm.modes`), source Eq. 9
    :cite:p:`tan2024booster`; vertical dispersion is neglected as there. The over-determined
    system is solved in the least-squares sense with the pseudo-inverse (SVD).

    Parameters
    ----------
    beta_x_m, beta_y_m : array_like
        Beta functions at the rows (m), positive, at least three rows.
    dispersion_x_m : array_like
        Horizontal dispersion ``dx/d(delta)`` at the rows (m).
    quad_term_m2 : array_like
        Measured ``sigma_x^2 - sigma_y^2`` (m^2).
    sigma : array_like, optional
        Standard errors of ``quad_term_m2`` (m^2). Without them all rows are weighted
        equally and the covariance is scaled by the residual variance.
    sigma_p2 : float, optional
        A known ``sigma_delta^2``: then only the two emittances are fitted. Needed when
        the optics at the BPMs cannot separate it (a periodic ring with two kinds of BPM
        location gives a rank-2 matrix).

    Returns
    -------
    EmittanceFit

    Notes
    -----
    Errors: ``beamkit.InputError`` for bad or mismatched arrays, fewer than three rows or
    too few rows for a residual-based covariance; ``beamkit.IllConditionedError`` when
    the design matrix is numerically rank deficient (condition number above
    ``MAX_CONDITION``), e.g. a perfectly periodic ring with three unknowns. A
    ``beamkit.BeamkitWarning`` is given for a condition number above ``WARN_CONDITION``
    and when ``beta_x`` is close to ``beta_y`` at every BPM (the planes are not separated).

    With three unknowns ``eps_x`` and ``sigma_p^2`` are anti-correlated (both enter through
    the large-``beta_x``, large-``D_x`` rows): see ``correlation``. How strongly depends on
    the optics variation between the BPMs: about -0.84 in :func:`beamkit.bpm.booster_like_ring` with its
    default 10 % modulation, tending to -1 as the ring approaches perfect periodicity.
    """
    fix = "give one value per BPM (at least three BPMs)"
    bx = v.array("beta_x_m", beta_x_m, ndim=1, min_size=3, positive=True, unit="m", fix=fix)
    by = v.array("beta_y_m", beta_y_m, ndim=1, min_size=3, positive=True, unit="m", fix=fix)
    d = v.array("dispersion_x_m", dispersion_x_m, ndim=1, min_size=3, unit="m", fix=fix)
    qt = v.array("quad_term_m2", quad_term_m2, ndim=1, min_size=3, unit="m^2", fix=fix)
    v.same_shape(beta_x_m=bx, beta_y_m=by, dispersion_x_m=d, quad_term_m2=qt)
    v.plausible("beta_x_m", bx, 1e-3, 1e4, "m", "beta functions are given in metres")
    v.plausible("quad_term_m2", qt, 0.0, 1e-2, "m^2", "sigma_x^2 - sigma_y^2 is given in m^2")
    if sigma is not None:
        sg = v.array("sigma", sigma, ndim=1, positive=True, unit="m^2")
        v.same_shape(quad_term_m2=qt, sigma=sg)
    else:
        sg = np.ones_like(qt)
    fit_sp = sigma_p2 is None
    sp2 = None if fit_sp else v.scalar("sigma_p2", sigma_p2, nonnegative=True)
    if sp2 is not None:
        v.plausible("sigma_p2", sp2, 0.0, 1e-3, "", "sigma_p2 is the square of the relative momentum spread")
    n_par = 3 if fit_sp else 2
    n = qt.size
    ndf = n - n_par
    if ndf < 1 and sigma is None:
        raise InputError("quad_term_m2", quad_term_m2,
                         f"{n} rows leave no degree of freedom to estimate errors from residuals for "
                         f"{n_par} unknowns", "give sigma, more BPMs, or a known sigma_p2")
    if np.all(np.abs(bx - by) / (bx + by) < PLANES_CLOSE):
        warnings.warn("beta_x is close to beta_y at every BPM: the planes are not separated and only "
                      "eps_x - <beta_y/beta_x> eps_y is measured; add BPMs where beta_x >> beta_y and "
                      "beta_x << beta_y", BeamkitWarning, stacklevel=2)
    rhs = qt - (0.0 if fit_sp else d * d * sp2)
    a = _design(bx, by, d * d, fit_sp) / sg[:, None]
    b = rhs / sg
    scale = np.linalg.norm(a, axis=0)
    if np.any(scale == 0):
        raise IllConditionedError("dispersion_x_m", dispersion_x_m,
                                  "is zero at every BPM, so sigma_p2 cannot be fitted",
                                  "give sigma_p2, or BPMs with dispersion", float("inf"))
    u, s, vt = np.linalg.svd(a / scale, full_matrices=False)
    cond = float(s[0] / s[-1]) if s[-1] > 0 else float("inf")
    if cond > MAX_CONDITION:
        raise IllConditionedError(
            "beta_x_m", beta_x_m,
            f"the optics at these BPMs cannot determine {n_par} unknowns (condition number {cond:.3g}; "
            "a periodic ring with two kinds of BPM location has rank 2)",
            "give a known sigma_p2, or BPMs with different optics", cond)
    if cond > WARN_CONDITION:
        warnings.warn(f"the emittance fit is ill-conditioned (condition number {cond:.3g}): errors "
                      "are amplified that much", BeamkitWarning, stacklevel=2)
    p_scaled = vt.T @ ((u.T @ b) / s)
    p = p_scaled / scale
    resid_w = b - a @ p
    chi2 = float(resid_w @ resid_w)
    cov_scaled = (vt.T / s**2) @ vt
    cov = cov_scaled / np.outer(scale, scale)
    if sigma is None:
        cov = cov * (chi2 / ndf)
        chi2_ndf = float("nan")
    else:
        chi2_ndf = chi2 / ndf if ndf > 0 else float("nan")
    return EmittanceFit(
        eps_x_m=float(p[0]), eps_y_m=float(p[1]), sigma_p2=float(p[2]) if fit_sp else sp2,
        covariance=cov, condition_number=cond, chi2_ndf=chi2_ndf, ndf=int(ndf),
        sigma_p2_fitted=fit_sp, residuals_m2=resid_w * sg, singular_values=s,
    )
