"""Plots for the book: optics along ``s`` under the magnet layout, and phase space.

Inside beamkit everything is SI; these functions put mm and mrad on axes where the
numbers are small, and always label axes with units.
"""

from __future__ import annotations

import numpy as np

from . import _validate as v
from .elements import KINDS

__all__ = ["draw_layout", "plot_twiss", "plot_phase_space", "twiss_ellipse"]


def draw_layout(ax, lattice):
    """Draw the magnets of a :class:`beamkit.lattices.Lattice` as boxes on ``ax``.

    Bends are centred boxes; quadrupoles sit above the axis when they focus
    horizontally (``k1 > 0``) and below when they defocus; sextupoles are small boxes
    above or below by the sign of ``k2``.
    """
    from matplotlib.patches import Rectangle

    ax.axhline(0, color="k", lw=0.8)
    for mag in lattice.magnets:
        kind = KINDS[mag.kind]
        if kind.per_length:  # a bend: a centred box, faded when switched off
            on = lattice.strength(mag, kind.strength) != 0
            ax.add_patch(Rectangle((mag.start_m, -0.35), mag.length_m, 0.7, color=kind.colour,
                                   alpha=1.0 if on else 0.3))
        elif kind.layout_height > 0:
            sign = np.sign(lattice.strength(mag, kind.strength)) or 1.0
            width = mag.length_m if mag.length_m > 0 else 0.004 * lattice.length_m
            ax.add_patch(Rectangle((mag.at_m - width / 2, 0), width, kind.layout_height * sign,
                                   color=kind.colour))
    ax.set_xlim(0, lattice.length_m)
    ax.set_ylim(-1, 1)
    ax.set_yticks([])
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    return ax


def plot_twiss(optics, lattice=None, *, dispersion=True, title=None, extra=None):
    """Beta functions (and dispersion) along ``s``, with the layout drawn above.

    Parameters
    ----------
    optics : beamkit.optics.Optics
        The table to draw (its ``s_m``, ``beta_x_m``, ``beta_y_m``, ``dispersion_x_m``).
    lattice : beamkit.lattices.Lattice, optional
        Draws the magnets in a strip above the plot.
    dispersion : bool
        Draw D_x on a second y axis.
    extra : dict of str to Optics, optional
        Further optics drawn as markers on top (e.g. MAD-X points over matrix curves).

    Returns
    -------
    (figure, dict of axes)
        Axes under keys ``"layout"`` (if a lattice was given), ``"beta"`` and
        ``"disp"`` (if dispersion).
    """
    import matplotlib.pyplot as plt

    if lattice is not None:
        fig, (ax_lay, ax) = plt.subplots(2, 1, sharex=True, figsize=(8, 4.8),
                                         gridspec_kw={"height_ratios": [1, 5], "hspace": 0.05})
        draw_layout(ax_lay, lattice)
        axes = {"layout": ax_lay, "beta": ax}
        if title:
            ax_lay.set_title(title)
    else:
        fig, ax = plt.subplots(figsize=(8, 4))
        axes = {"beta": ax}
        if title:
            ax.set_title(title)
    t = optics.table
    ax.plot(t["s_m"], t["beta_x_m"], color="tab:blue", label=r"$\beta_x$")
    ax.plot(t["s_m"], t["beta_y_m"], color="tab:red", label=r"$\beta_y$")
    for label, other in (extra or {}).items():
        ax.plot(other.table["s_m"], other.table["beta_x_m"], "o", ms=4, mfc="none",
                color="tab:blue", label=rf"$\beta_x$ ({label})")
        ax.plot(other.table["s_m"], other.table["beta_y_m"], "s", ms=4, mfc="none",
                color="tab:red", label=rf"$\beta_y$ ({label})")
    ax.set_xlabel(r"$s$ [m]")
    ax.set_ylabel(r"$\beta$ [m]")
    handles, labels = ax.get_legend_handles_labels()
    if dispersion and np.any(np.abs(t["dispersion_x_m"]) > 0):
        ax2 = ax.twinx()
        ax2.plot(t["s_m"], t["dispersion_x_m"], color="tab:green", ls="--", label=r"$D_x$")
        ax2.set_ylabel(r"$D_x$ [m]")
        h2, l2 = ax2.get_legend_handles_labels()
        handles, labels = handles + h2, labels + l2
        axes["disp"] = ax2
    ax.legend(handles, labels, loc="best", fontsize="small")
    ax.set_xlim(t["s_m"].min(), t["s_m"].max())
    return fig, axes


def twiss_ellipse(beta_m, alpha, eps_m, n_points=200, *, n_sigma=1.0, centre=(0.0, 0.0)):
    """Points ``(x, px)`` (m, rad) on the ellipse ``gamma x^2 + 2 alpha x px + beta px^2 = eps``.

    Parameters
    ----------
    beta_m, alpha : float
        Twiss functions (m, 1) of the ellipse.
    eps_m : float
        RMS emittance (m): with ``n_sigma = 1`` the ellipse of area ``pi eps``.
    n_points : int
        Points on the closed curve.
    n_sigma : float
        Scale: the ``n_sigma`` ellipse of a Gaussian beam of that emittance.
    centre : (float, float)
        Centroid ``(x, px)`` (m, rad) the ellipse is drawn about.
    """
    beta_m = v.scalar("beta_m", beta_m, positive=True, unit="m")
    alpha = v.scalar("alpha", alpha)
    eps_m = v.scalar("eps_m", eps_m, nonnegative=True, unit="m")
    n_points = v.integer("n_points", n_points, minimum=3)
    n_sigma = v.scalar("n_sigma", n_sigma, positive=True)
    phi = np.linspace(0, 2 * np.pi, n_points)
    x = n_sigma * np.sqrt(eps_m * beta_m) * np.cos(phi)
    px = -n_sigma * np.sqrt(eps_m / beta_m) * (alpha * np.cos(phi) + np.sin(phi))
    return centre[0] + x, centre[1] + px


_PX_UNITS = {"mrad": 1e3, "urad": 1e6}


def plot_phase_space(x, px, *, ax=None, ellipse=None, label=None, px_unit="mrad", s=4, **kwargs):
    """Scatter of ``(x, px)`` in mm and mrad (or microrad), optionally with a Twiss ellipse.

    Parameters
    ----------
    x, px : array_like
        Positions (m) and angles (rad).
    ellipse : tuple (beta_m, alpha, eps_m), optional
        Draws the matching ellipse.
    px_unit : {"mrad", "urad"}
        Unit of the ``px`` axis; microradians suit large-beta, high-energy optics.
    """
    import matplotlib.pyplot as plt

    px_unit = v.choice("px_unit", px_unit, tuple(_PX_UNITS))
    scale = _PX_UNITS[px_unit]
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 4))
    ax.scatter(np.asarray(x) * 1e3, np.asarray(px) * scale, s=s, label=label, **kwargs)
    if ellipse is not None:
        ex, epx = twiss_ellipse(*ellipse)
        ax.plot(ex * 1e3, epx * scale, "k-", lw=1, label="Twiss ellipse")
    ax.set_xlabel(r"$x$ [mm]")
    ax.set_ylabel(r"$p_x$ [mrad]" if px_unit == "mrad" else r"$p_x$ [$\mu$rad]")
    return ax
