"""Particle distributions and their statistical moments.

Coordinates follow xtrack: x, y in m, px = Px/P0, py = Py/P0, delta = (P - P0)/P0.
Statistical Twiss functions of a beam follow :cite:p:`wolski2014` (ch. 5).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from . import _validate as v
from .errors import InputError

__all__ = ["matched_gaussian", "moments", "PlaneMoments", "beam_moments"]


def matched_gaussian(n_particles, *, beta_x_m, alpha_x, eps_x_m, beta_y_m, alpha_y, eps_y_m,
                     sigma_delta, dispersion_x_m=0.0, dispersion_prime_x=0.0, dispersion_y_m=0.0,
                     dispersion_prime_y=0.0, seed=0):
    """A Gaussian beam matched to the given Twiss functions, dispersion included.

    With independent standard normal u1, u2 per plane and delta ~ N(0, sigma_delta^2)::

        x  = sqrt(eps beta) u1 + D delta
        px = sqrt(eps/beta) (u2 - alpha u1) + D' delta

    so that the betatron part has rms emittance ``eps`` and the ellipse
    gamma x^2 + 2 alpha x px + beta px^2 = const.

    Parameters
    ----------
    n_particles : int
        Number of particles.
    beta_x_m, beta_y_m : float
        Beta functions in m.
    alpha_x, alpha_y : float
        Alpha functions.
    eps_x_m, eps_y_m : float
        Geometric rms emittances in m rad.
    sigma_delta : float
        Rms relative momentum deviation.
    dispersion_x_m, dispersion_y_m : float
        Dispersion D = dx/d delta (m).
    dispersion_prime_x, dispersion_prime_y : float
        Its derivative D' = dpx/d delta (1).
    seed : int or numpy.random.SeedSequence
        Seed of ``numpy.random.default_rng`` (an integer >= 0): the same seed gives the
        same beam.

    Returns
    -------
    dict
        Arrays ``x, px, y, py, delta`` of shape (n_particles,): a mapping that
        :func:`beamkit.tracking.track_pass` and :mod:`beamkit.fieldmap` take as it is.
    """
    n_particles = v.integer("n_particles", n_particles, minimum=1)
    beta_x_m = v.scalar("beta_x_m", beta_x_m, positive=True, unit="m")
    beta_y_m = v.scalar("beta_y_m", beta_y_m, positive=True, unit="m")
    alpha_x = v.scalar("alpha_x", alpha_x)
    alpha_y = v.scalar("alpha_y", alpha_y)
    eps_x_m = v.scalar("eps_x_m", eps_x_m, nonnegative=True, unit="m")
    eps_y_m = v.scalar("eps_y_m", eps_y_m, nonnegative=True, unit="m")
    sigma_delta = v.scalar("sigma_delta", sigma_delta, nonnegative=True)
    dx_m = v.scalar("dispersion_x_m", dispersion_x_m, unit="m")
    dpx = v.scalar("dispersion_prime_x", dispersion_prime_x)
    dy_m = v.scalar("dispersion_y_m", dispersion_y_m, unit="m")
    dpy = v.scalar("dispersion_prime_y", dispersion_prime_y)
    v.plausible("eps_x_m", eps_x_m, 0.0, 1e-3, "m", "geometric emittances are m rad, e.g. 1e-6")
    v.plausible("eps_y_m", eps_y_m, 0.0, 1e-3, "m", "geometric emittances are m rad, e.g. 1e-6")
    # A spread above 5 % is far beyond any ring's (~1e-3): probably a percentage (1 for 1 %).
    # At sigma_delta = 0.2 one particle in ~3e6 already has delta <= -1 (no momentum).
    v.plausible("sigma_delta", sigma_delta, 0.0, 0.05, "",
                "rms momentum spreads are ~1e-3; was a percentage given?")
    if not isinstance(seed, (np.random.SeedSequence, np.random.BitGenerator)):
        seed = v.integer("seed", seed, minimum=0, fix="give a non-negative integer seed")
    rng = np.random.default_rng(seed)
    u = rng.standard_normal((5, n_particles))
    delta = sigma_delta * u[4]
    out = {"delta": delta}
    for (q, p), beta, alpha, eps, d, dp, (i, j) in (
        (("x", "px"), beta_x_m, alpha_x, eps_x_m, dx_m, dpx, (0, 1)),
        (("y", "py"), beta_y_m, alpha_y, eps_y_m, dy_m, dpy, (2, 3)),
    ):
        out[q] = np.sqrt(eps * beta) * u[i] + d * delta
        out[p] = np.sqrt(eps / beta) * (u[j] - alpha * u[i]) + dp * delta
    return {k: out[k] for k in ("x", "px", "y", "py", "delta")}


@dataclass(frozen=True)
class PlaneMoments:
    """Statistical moments of a beam in one plane (:func:`moments`).

    Field names are those of the plane-independent quantity; :meth:`as_dict` gives them
    with the plane in the name (``sigma_x_m`` or ``sigma_y_m``...), as in the vocabulary.

    Attributes
    ----------
    plane : str
        ``"x"`` or ``"y"``.
    n_particles : int
        Particles with finite coordinates that entered the moments.
    mean_m, mean_p : float
        Centroid position (m) and momentum (1).
    sigma_m, sigma_p : float
        RMS size (m) and RMS momentum (1).
    corr : float
        Position-momentum correlation coefficient (1).
    eps_m : float
        RMS emittance of the whole distribution (m): the *total* one, dispersive part
        included when the beam has a momentum spread.
    beta_m, alpha : float
        Statistical Twiss functions of the whole distribution (m, 1), total (with
        dispersion); alpha > 0 for a converging beam.
    dispersion_m, dispersion_prime : float
        Fitted ``cov(x, delta)/var(delta)`` (m) and its momentum partner (1); NaN
        without ``delta``.
    eps_betatron_m : float
        Emittance of the betatron part ``x - D delta``, ``px - D' delta`` (m), the
        correlation with delta removed; NaN without ``delta``.
    beta_betatron_m, alpha_betatron : float
        Statistical Twiss functions of that betatron part (m, 1): the ellipse a lattice's
        Twiss functions describe. NaN without ``delta``.
    sigma_betatron_m : float
        RMS size of the betatron part, ``sqrt(eps_betatron_m beta_betatron_m)`` (m); the
        total size is ``sqrt(sigma_betatron_m^2 + D^2 var(delta))``. NaN without ``delta``.
    """

    plane: str
    n_particles: int
    mean_m: float
    mean_p: float
    sigma_m: float
    sigma_p: float
    corr: float
    eps_m: float
    beta_m: float
    alpha: float
    dispersion_m: float = float("nan")
    dispersion_prime: float = float("nan")
    eps_betatron_m: float = float("nan")
    beta_betatron_m: float = float("nan")
    alpha_betatron: float = float("nan")
    sigma_betatron_m: float = float("nan")

    def as_dict(self):
        """The moments keyed by vocabulary names of this plane (``sigma_y_m`` for y...)."""
        q = self.plane
        names = {"n_particles": "n_particles", "mean_m": f"mean_{q}_m", "mean_p": f"mean_p{q}",
                 "sigma_m": f"sigma_{q}_m", "sigma_p": f"sigma_p{q}", "corr": f"corr_{q}_p{q}",
                 "eps_m": f"eps_{q}_m", "beta_m": f"beta_{q}_m", "alpha": f"alpha_{q}",
                 "dispersion_m": f"dispersion_{q}_m", "dispersion_prime": f"dispersion_prime_{q}",
                 "eps_betatron_m": f"eps_betatron_{q}_m", "beta_betatron_m": f"beta_betatron_{q}_m",
                 "alpha_betatron": f"alpha_betatron_{q}", "sigma_betatron_m": f"sigma_betatron_{q}_m"}
        return {names[f.name]: getattr(self, f.name) for f in fields(self) if f.name != "plane"}


def moments(x, px, delta=None, *, plane="x"):
    """Mean, RMS size and statistical Twiss parameters of a beam in one plane.

    Parameters
    ----------
    x, px : array_like, shape (n_particles,)
        Positions (m) and momenta (P/P0) of the plane; NaN entries (lost particles) are
        left out.
    delta : array_like, optional
        If given, the dispersion ``D = cov(x, delta)/var(delta)`` and ``D'`` are fitted and
        the betatron moments (emittance, beta, alpha, size) are computed from
        ``x - D delta``, ``px - D' delta``, i.e. with the correlation with delta removed
        :cite:p:`wolski2014`. Without it only the total moments are known.
    plane : {"x", "y"}
        Which plane ``x``, ``px`` belong to (names the result's entries).

    Returns
    -------
    PlaneMoments
    """
    plane = v.choice("plane", plane, ("x", "y"))
    x = v.array("x", x, ndim=1, allow_nan=True, unit="m")
    px = v.array("px", px, ndim=1, allow_nan=True)
    v.same_shape(x=x, px=px)
    keep = np.isfinite(x) & np.isfinite(px)
    if delta is not None:
        delta = v.array("delta", delta, ndim=1, allow_nan=True)
        v.same_shape(x=x, delta=delta)
        keep &= np.isfinite(delta)
    if keep.sum() < 3:
        raise InputError("x", x, f"has {int(keep.sum())} particles with finite coordinates",
                         "moments need at least 3")
    x, px = x[keep], px[keep]
    xm, pm = x.mean(), px.mean()
    cxx = np.mean((x - xm) ** 2)
    cpp = np.mean((px - pm) ** 2)
    cxp = np.mean((x - xm) * (px - pm))
    eps = np.sqrt(max(cxx * cpp - cxp**2, 0.0))
    extra = {}
    if delta is not None:
        d = delta[keep] - delta[keep].mean()
        var = np.mean(d**2)
        if var > 0:
            D = np.mean((x - xm) * d) / var
            Dp = np.mean((px - pm) * d) / var
            xb = x - xm - D * d
            pb = px - pm - Dp * d
            bxx, bpp, bxp = np.mean(xb**2), np.mean(pb**2), np.mean(xb * pb)
            eb = np.sqrt(max(bxx * bpp - bxp**2, 0.0))
            extra = {"dispersion_m": float(D), "dispersion_prime": float(Dp), "eps_betatron_m": float(eb),
                     "beta_betatron_m": float(bxx / eb) if eb > 0 else float("nan"),
                     "alpha_betatron": float(-bxp / eb) if eb > 0 else float("nan"),
                     "sigma_betatron_m": float(np.sqrt(bxx))}
    return PlaneMoments(
        plane=plane, n_particles=int(keep.sum()), mean_m=float(xm), mean_p=float(pm),
        sigma_m=float(np.sqrt(cxx)), sigma_p=float(np.sqrt(cpp)),
        corr=float(cxp / np.sqrt(cxx * cpp)) if cxx > 0 and cpp > 0 else float("nan"),
        eps_m=float(eps), beta_m=float(cxx / eps) if eps > 0 else float("nan"),
        alpha=float(-cxp / eps) if eps > 0 else float("nan"), **extra)


def beam_moments(x, px, delta=None):
    """The moments of :func:`moments` as the dict of beamkit 0.1 (x-plane key names).

    Kept only because :mod:`beamkit.fieldmap` (``CurrentScan.table``) reads these keys;
    new code uses :func:`moments`, whose names say which plane they belong to.

    Returns
    -------
    dict
        ``mean_x_m, mean_px, sigma_x_m, sigma_px, corr, eps_m, beta_m, alpha, n``: the
        total moments (with dispersion). With ``delta`` also ``dx_m, dpx`` and the betatron
        moments ``eps_betatron_m, beta_betatron_m, alpha_betatron, sigma_betatron_m``
        (correlation with delta removed).
    """
    m = moments(x, px, delta)
    out = {"n": m.n_particles, "mean_x_m": m.mean_m, "mean_px": m.mean_p, "sigma_x_m": m.sigma_m,
           "sigma_px": m.sigma_p, "corr": m.corr, "eps_m": m.eps_m, "beta_m": m.beta_m, "alpha": m.alpha}
    if not np.isnan(m.dispersion_m):
        out.update(dx_m=m.dispersion_m, dpx=m.dispersion_prime, eps_betatron_m=m.eps_betatron_m,
                   beta_betatron_m=m.beta_betatron_m, alpha_betatron=m.alpha_betatron,
                   sigma_betatron_m=m.sigma_betatron_m)
    return out
