"""Beam centroid and size at a sextupole from a K2 scan: polynomial fits with feed-down removed."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import _validate as v
from ..errors import BeamkitWarning, InputError
from ..fits import fit_polynomial
from ._scan import ScanResult


@dataclass(frozen=True)
class Reconstruction:
    """Beam position and size at a sextupole from a K2 scan (see :func:`reconstruct`).

    Attributes
    ----------
    sigma_x_m, sigma_x_err_m : float
        Horizontal RMS beam size and its propagated uncertainty (m); NaN when sigma_x^2 < 0.
    sigma_x2_m2, sigma_x2_err_m2 : float
        sigma_x^2 and its uncertainty (m^2).
    x0_m, x0_err_m, y0_m, y0_err_m : float
        Beam centroid relative to the sextupole centre, from the quadrupole and skew terms (m).
    slope_dpx, slope_dpx_err : float
        Linear coefficient of the (feed-down corrected) dpx against dK2L (rad m^2).
    chi2_ndf : dict
        chi^2/ndf of the three fits with the errors given (Birge factors squared).
    """

    sigma_x_m: float
    sigma_x_err_m: float
    sigma_x2_m2: float
    sigma_x2_err_m2: float
    x0_m: float
    x0_err_m: float
    y0_m: float
    y0_err_m: float
    slope_dpx: float
    slope_dpx_err: float
    chi2_ndf: dict

    def to_frame(self):
        """The results as a one-column table (SI units)."""
        keys = ("sigma_x_m", "sigma_x_err_m", "x0_m", "x0_err_m", "y0_m", "y0_err_m", "slope_dpx",
                "slope_dpx_err")
        return pd.DataFrame({"value": [getattr(self, k) for k in keys]}, index=keys)


def reconstruct(dk2l, dk1l, da1, dpx, dx_m=None, dy_m=None, k2l0=0.0, sigma_y_m=0.0, degree=3,
                sigma_dk1l=None, sigma_da1=None, sigma_dpx=None):
    """X0, Y0 and sigma_x from a K2 scan :cite:p:`crittenden2025cesr`.

    * X0: linear coefficient of ``dK1L - (k2l0 + dK2L) dx`` against dK2L (the quadrupole term,
      with the feed-down of the orbit change through the full strength removed);
    * Y0: likewise from ``da1 - (k2l0 + dK2L) dy``;
    * sigma_x: from the linear coefficient s of the feed-down corrected angle change,
      ``dpx + (k2l0 + dK2L) [(2 X0 dx + dx^2) - (2 Y0 dy + dy^2)] / 2``:
      ``sigma_x^2 = -2 s - X0^2 + Y0^2 + sigma_y^2``, with
      ``d(sigma_x^2) = 2 sqrt(ds^2 + (X0 dX0)^2 + (Y0 dY0)^2)`` and
      ``d(sigma_x) = d(sigma_x^2) / (2 sigma_x)``.

    Polynomials of degree ``degree`` are fitted with Birge-scaled errors
    (:func:`beamkit.fits.fit_polynomial`); one order more than the physics needs.

    Parameters
    ----------
    dk2l : array_like, shape (n,)
        True strength changes (1/m^2), calibration included; repeats may be concatenated.
    dk1l : array_like, shape (n,)
        Quadrupole term, e.g. from :func:`quadrupole_term_from_tunes` (1/m).
    da1 : array_like, shape (n,)
        Skew term (1/m).
    dpx : array_like, shape (n,)
        Horizontal angle change at the sextupole (rad).
    dx_m, dy_m : array_like, shape (n,), optional
        Closed-orbit change at the sextupole (m); required when ``k2l0`` is not 0 (the
        feed-down terms); when given they are always used.
    k2l0 : float
        True initial strength (1/m^2).
    sigma_y_m : float
        Vertical beam size, if known (m); 0 neglects it as the source does.
    degree : int
        Degree of the polynomial fits (>= 1).
    sigma_dk1l, sigma_da1, sigma_dpx : float or array_like, optional
        Point errors; only their ratios matter (the fits are Birge-scaled).

    Returns
    -------
    Reconstruction
    """
    dk2l = v.array("dk2l", dk2l, ndim=1, min_size=3, unit="1/m^2")
    dk1l = v.array("dk1l", dk1l, ndim=1, unit="1/m")
    da1 = v.array("da1", da1, ndim=1, unit="1/m")
    dpx = v.array("dpx", dpx, ndim=1, unit="rad")
    v.same_shape(dk2l=dk2l, dk1l=dk1l, da1=da1, dpx=dpx)
    k2l0 = v.scalar("k2l0", k2l0, unit="1/m^2")
    sigma_y_m = v.scalar("sigma_y_m", sigma_y_m, nonnegative=True, unit="m")
    degree = v.integer("degree", degree, minimum=1)
    if np.unique(dk2l).size < degree + 2:
        raise InputError("dk2l", dk2l, f"needs at least {degree + 2} distinct values for a degree-"
                         f"{degree} fit with errors", "scan more settings or lower the degree")
    v.plausible("dpx", float(np.max(np.abs(dpx))), 0.0, 1e-2, "rad", "angles are in rad, not mrad")
    if k2l0 != 0.0 and (dx_m is None or dy_m is None):
        raise InputError("dx_m", dx_m, "the orbit changes dx_m and dy_m are needed when k2l0 != 0 "
                         "(feed-down of the orbit change through the initial strength)",
                         "pass the measured orbit change at the sextupole")
    dx = np.zeros_like(dk2l) if dx_m is None else v.array("dx_m", dx_m, ndim=1, unit="m")
    dy = np.zeros_like(dk2l) if dy_m is None else v.array("dy_m", dy_m, ndim=1, unit="m")
    v.same_shape(dk2l=dk2l, dx_m=dx, dy_m=dy)
    k = k2l0 + dk2l
    fx = fit_polynomial(dk2l, dk1l - k * dx, degree, sigma_dk1l)
    fy = fit_polynomial(dk2l, da1 - k * dy, degree, sigma_da1)
    x0, x0_err = fx.coefficients[1], fx.errors[1]
    y0, y0_err = fy.coefficients[1], fy.errors[1]
    corrected = dpx + 0.5 * k * ((2 * x0 * dx + dx ** 2) - (2 * y0 * dy + dy ** 2))
    fp = fit_polynomial(dk2l, corrected, degree, sigma_dpx)
    slope, slope_err = fp.coefficients[1], fp.errors[1]
    s2 = -2.0 * slope - x0 ** 2 + y0 ** 2 + sigma_y_m ** 2
    s2_err = 2.0 * np.sqrt(slope_err ** 2 + (x0 * x0_err) ** 2 + (y0 * y0_err) ** 2)
    sig = np.sqrt(s2) if s2 > 0 else np.nan
    if not s2 > 0:
        warnings.warn(f"reconstructed sigma_x^2 = {s2:.3g} m^2 <= 0 (+- {s2_err:.2g}): sigma_x is NaN; "
                      "the angle-change slope is too small for the offsets X0, Y0", BeamkitWarning,
                      stacklevel=2)
    return Reconstruction(sigma_x_m=float(sig), sigma_x_err_m=float(s2_err / (2 * sig)) if s2 > 0 else np.nan,
                          sigma_x2_m2=float(s2), sigma_x2_err_m2=float(s2_err), x0_m=float(x0),
                          x0_err_m=float(x0_err), y0_m=float(y0), y0_err_m=float(y0_err),
                          slope_dpx=float(slope), slope_dpx_err=float(slope_err),
                          chi2_ndf={"dk1l": fx.chi2_ndf, "da1": fy.chi2_ndf, "dpx": fp.chi2_ndf})


def _pooled(scan):
    """True dK2L, then the measured dK1L, da1, dpx, dx_m, dy_m of a scan, flattened over repeats."""
    return (scan.flat("dk1l")[0], *(scan.flat(name)[1] for name in ("dk1l", "da1", "dpx", "dx_m", "dy_m")))


def reconstruct_scan(scan, degree=3, use_orbit=True):
    """:func:`reconstruct` applied to a :class:`ScanResult` (repeats pooled)."""
    if not isinstance(scan, ScanResult):
        raise InputError("scan", scan, "must be a ScanResult", "use simulate_scan")
    x, dk1l, da1, dpx, dx, dy = _pooled(scan)
    if not use_orbit:
        dx = dy = None
    return reconstruct(x, dk1l, da1, dpx, dx, dy, k2l0=scan.k2l0 if use_orbit else 0.0, degree=degree)
