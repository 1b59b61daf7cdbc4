"""Particle distributions and their statistical moments.

Coordinates follow xtrack: x, y in m, px = Px/P0, py = Py/P0, delta = (P - P0)/P0.
"""

from __future__ import annotations

import numpy as np

__all__ = ["matched_gaussian", "beam_moments"]


def matched_gaussian(n, *, beta_x_m, alpha_x, eps_x_m, beta_y_m, alpha_y, eps_y_m,
                     sigma_delta, dx_m=0.0, dpx=0.0, dy_m=0.0, dpy=0.0, seed=0):
    """A Gaussian beam matched to the given Twiss functions, dispersion included.

    With independent standard normal u1, u2 per plane and delta ~ N(0, sigma_delta^2)::

        x  = sqrt(eps beta) u1 + D delta
        px = sqrt(eps/beta) (u2 - alpha u1) + D' delta

    so that the betatron part has rms emittance ``eps`` and the ellipse
    gamma x^2 + 2 alpha x px + beta px^2 = const.

    Parameters
    ----------
    n : int
        Number of particles.
    beta_x_m, beta_y_m : float
        Beta functions in m.
    alpha_x, alpha_y : float
        Alpha functions.
    eps_x_m, eps_y_m : float
        Geometric rms emittances in m rad.
    sigma_delta : float
        Rms relative momentum deviation.
    dx_m, dpx, dy_m, dpy : float
        Dispersion (m) and its derivative.
    seed : int
        Seed of ``numpy.random.default_rng``: the same seed gives the same beam.

    Returns
    -------
    dict
        Arrays ``x, px, y, py, delta``.
    """
    for name, v in (("beta_x_m", beta_x_m), ("beta_y_m", beta_y_m)):
        if not v > 0:
            raise ValueError(f"{name} must be positive, got {v}")
    for name, v in (("eps_x_m", eps_x_m), ("eps_y_m", eps_y_m), ("sigma_delta", sigma_delta)):
        if not v >= 0:
            raise ValueError(f"{name} must be non-negative, got {v}")
    rng = np.random.default_rng(seed)
    u = rng.standard_normal((5, int(n)))
    delta = sigma_delta * u[4]
    out = {"delta": delta}
    for (q, p), beta, alpha, eps, d, dp, (i, j) in (
        (("x", "px"), beta_x_m, alpha_x, eps_x_m, dx_m, dpx, (0, 1)),
        (("y", "py"), beta_y_m, alpha_y, eps_y_m, dy_m, dpy, (2, 3)),
    ):
        out[q] = np.sqrt(eps * beta) * u[i] + d * delta
        out[p] = np.sqrt(eps / beta) * (u[j] - alpha * u[i]) + dp * delta
    return {k: out[k] for k in ("x", "px", "y", "py", "delta")}


def beam_moments(x, px, delta=None):
    """Mean, rms size and statistical Twiss parameters of a beam in one plane.

    Parameters
    ----------
    x, px : array_like
        Positions (m) and momenta (Px/P0); NaN entries (lost particles) are ignored.
    delta : array_like, optional
        If given, the dispersion D = cov(x, delta)/var(delta) and D' are fitted and the
        betatron emittance is computed from x - D delta, px - D' delta.

    Returns
    -------
    dict
        ``mean_x_m, mean_px, sigma_x_m, sigma_px, corr`` (the x-px correlation
        coefficient), ``eps_m`` (rms emittance), ``beta_m``, ``alpha`` (the ellipse tilt:
        alpha > 0 for a converging beam), ``n``; with ``delta`` also ``dx_m, dpx,
        eps_betatron_m``.
    """
    x = np.asarray(x, float)
    px = np.asarray(px, float)
    keep = np.isfinite(x) & np.isfinite(px)
    if delta is not None:
        delta = np.asarray(delta, float)
        keep &= np.isfinite(delta)
    if keep.sum() < 3:
        raise ValueError(f"need at least 3 particles with finite coordinates, got {keep.sum()}")
    x, px = x[keep], px[keep]
    xm, pm = x.mean(), px.mean()
    cxx = np.mean((x - xm) ** 2)
    cpp = np.mean((px - pm) ** 2)
    cxp = np.mean((x - xm) * (px - pm))
    eps = np.sqrt(max(cxx * cpp - cxp**2, 0.0))
    out = {
        "n": int(keep.sum()),
        "mean_x_m": xm,
        "mean_px": pm,
        "sigma_x_m": np.sqrt(cxx),
        "sigma_px": np.sqrt(cpp),
        "corr": cxp / np.sqrt(cxx * cpp) if cxx > 0 and cpp > 0 else np.nan,
        "eps_m": eps,
        "beta_m": cxx / eps if eps > 0 else np.nan,
        "alpha": -cxp / eps if eps > 0 else np.nan,
    }
    if delta is not None:
        d = delta[keep] - delta[keep].mean()
        var = np.mean(d**2)
        if var > 0:
            D = np.mean((x - xm) * d) / var
            Dp = np.mean((px - pm) * d) / var
            xb = x - xm - D * d
            pb = px - pm - Dp * d
            eb = np.sqrt(max(np.mean(xb**2) * np.mean(pb**2) - np.mean(xb * pb) ** 2, 0.0))
            out.update(dx_m=D, dpx=Dp, eps_betatron_m=eb)
    return out
