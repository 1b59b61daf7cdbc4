"""Multipole expansion of a field map, slice by slice, and models built from it."""

from __future__ import annotations

from dataclasses import dataclass
from math import factorial

import numpy as np

from .. import _validate as v
from ..errors import FieldMapError, InputError
from ._frames import ReferenceOrbit
from ._map import FieldMap

__all__ = ["MultipoleFit", "feed_down", "fit_multipoles"]


def feed_down(b, dx_m):
    """Multipoles about a point displaced by ``dx_m`` (m) in x from the expansion centre.

    With b_n = d^n By/dx^n (T/m^n, rows of ``b``), b'_n = sum_{m>=n} b_m dx^(m-n)/(m-n)!.
    ``dx_m`` may be an array matching the columns of ``b``.
    """
    b = v.array("b", b, ndim=(1, 2), min_size=1)
    dx_m = v.array("dx_m", dx_m, unit="m")
    try:
        fits = dx_m.ndim == 0 or (b.ndim == 2 and np.broadcast_shapes(dx_m.shape, b.shape[1:]) == b.shape[1:])
    except ValueError:
        fits = False
    if not fits:
        raise InputError("dx_m", dx_m, f"has shape {dx_m.shape}; b has shape {b.shape}",
                         "give one displacement, or one per column of b")
    out = np.zeros_like(b)
    for n in range(b.shape[0]):
        for m in range(n, b.shape[0]):
            out[n] = out[n] + b[m] * dx_m ** (m - n) / factorial(m - n)
    return out


@dataclass
class MultipoleFit:
    """Multipoles of a map, slice by slice (from :func:`fit_multipoles`).

    Attributes
    ----------
    z : numpy.ndarray
        Slice positions along the map axis in m, shape (n_slices,).
    s : numpy.ndarray
        Path length along the expansion axis (the reference orbit, or z) in m.
    b, a : numpy.ndarray
        Normal and skew field derivatives d^n By/dX^n and d^n B_X/dX^n in T/m^n on the
        expansion axis (X: horizontal, perpendicular to the axis), shape
        (max_order + 1, n_slices).
    residual_rms_t : numpy.ndarray
        Rms of the fit residual in each slice in T (truncation and interpolation).
    radius_m : float
        Half-width of the fitted transverse range.
    reference : ReferenceOrbit or None
        The orbit the expansion follows (None: the straight map axis x = 0).
    """

    z: np.ndarray
    s: np.ndarray
    b: np.ndarray
    a: np.ndarray
    residual_rms_t: np.ndarray
    radius_m: float
    reference: ReferenceOrbit | None = None

    @property
    def s_span(self):
        """(s at the entry plane, s at the exit plane) of the reference orbit in m; the
        field is taken as zero between these planes and the first and last slices."""
        if self.reference is None:
            return float(self.s[0]), float(self.s[-1])
        return 0.0, self.reference.length_m

    @property
    def max_order(self):
        return self.b.shape[0] - 1

    @property
    def integrated_b(self):
        """Integrals of b_n over s (T m^(1-n)), shape (max_order + 1,)."""
        return np.trapezoid(self.b, self.s, axis=1)

    @property
    def integrated_a(self):
        """Integrals of a_n over s (T m^(1-n))."""
        return np.trapezoid(self.a, self.s, axis=1)

    @property
    def magnetic_length_m(self):
        """Dipole integral over the peak dipole field, in m."""
        return float(self.integrated_b[0] / self.b[0][np.argmax(np.abs(self.b[0]))])

    def k(self, brho_tm):
        """Normalised strengths k_n = b_n / (B rho) in 1/m^(n+1)."""
        return self.b / brho_tm

    def to_xtrack(self, p0c, q0=1.0, model="sliced", particle_mass_ev=None):
        """An :class:`xtrack.Line` of the magnet from the entry to the exit plane.

        ``model="sliced"``: one thick :class:`xtrack.Bend` per interval between slices,
        its geometry (angle) that of the reference orbit, its k0, k1 and thin k2, k3
        kicks the interval's mean fitted b_n / (B rho): the s-dependent model. At the
        current the orbit was found for, k0 equals the curvature; at another current the
        difference steers the beam. ``model="hard_edge"``: one Bend of the magnetic length
        carrying the integrals (k0 L, k1 L, k2 L, k3 L, and the orbit's total angle)
        between two drifts. Edge kicks are off in both: the
        fringe focusing of a straight magnet entered at an angle appears in the fitted
        k1 along the orbit (and so in its integral).

        Only meaningful for a fit along a reference orbit (possibly of another current),
        with ``p0c``/``q0`` those of that orbit.
        """
        import xtrack as xt
        from scipy.constants import c as C_LIGHT

        if self.reference is None:
            raise InputError("along", None, "build models from a fit along the reference orbit "
                             "(along=...)", "call fit_multipoles(fieldmap, along=reference_orbit)")
        p0c = v.scalar("p0c", p0c, positive=True, unit="eV")
        q0 = v.scalar("q0", q0)
        if q0 == 0:
            raise InputError("q0", q0, "a neutral particle has no magnetic rigidity",
                             "give the charge in units of e")
        brho = p0c / (C_LIGHT * q0)
        k = self.k(brho)
        order = self.max_order
        env = xt.Environment()
        env.particle_ref = xt.Particles(
            p0c=p0c, q0=q0, mass0=particle_mass_ev if particle_mass_ev else xt.PROTON_MASS_EV
        )
        elements = []
        s_in, s_out = self.s_span
        env.new("drift_entry", xt.Drift, length=float(self.s[0] - s_in))
        elements.append("drift_entry")
        ref = self.reference
        theta = np.interp(self.z, ref.z, ref.theta)  # geometry: the reference orbit
        if model == "sliced":
            ds = np.diff(self.s)
            kmid = 0.5 * (k[:, 1:] + k[:, :-1])
            for i, L in enumerate(ds):
                knl = [0.0] * (order + 1)
                for n in range(2, order + 1):
                    knl[n] = kmid[n, i] * L
                name = f"slice_{i}"
                env.new(name, xt.Bend, length=L, angle=theta[i] - theta[i + 1], k0=kmid[0, i],
                        k1=kmid[1, i], knl=knl, edge_entry_active=0, edge_exit_active=0)
                elements.append(name)
        elif model == "hard_edge":
            ik = np.trapezoid(k, self.s, axis=1)
            L = self.magnetic_length_m
            total = float(self.s[-1] - self.s[0])
            knl = [0.0] * (order + 1)
            for n in range(2, order + 1):
                knl[n] = ik[n]
            env.new("drift_in", xt.Drift, length=0.5 * (total - L))
            env.new("magnet", xt.Bend, length=L, angle=ref.angle_rad, k0=ik[0] / L,
                    k1=ik[1] / L, knl=knl, edge_entry_active=0, edge_exit_active=0)
            env.new("drift_out", xt.Drift, length=0.5 * (total - L))
            elements += ["drift_in", "magnet", "drift_out"]
        else:
            raise InputError("model", model, "model must be 'sliced' or 'hard_edge'")
        env.new("drift_exit", xt.Drift, length=float(s_out - self.s[-1]))
        elements.append("drift_exit")
        line = env.new_line(components=elements)
        line.particle_ref = env.particle_ref.copy()
        return line


def _expansion_axis(fieldmap, along, z):
    """Slices (z, m), axis position x (m), axis angle (rad) and path length s (m) of the
    expansion: along the reference orbit ``along``, or the map's z axis."""
    (x0, x1), _, _ = fieldmap.bounds
    if along is not None:
        lo, hi = along.entry.z_m, along.exit.z_m
        if z is None:
            # the tilted sample lines must stay inside the map in z: keep clear of the ends
            margin = 0.1 * abs(x1 - x0) * np.max(np.abs(along.px))
            zs = fieldmap.z[(fieldmap.z >= lo + margin) & (fieldmap.z <= hi - margin)]
        else:
            zs = np.asarray(z, float)
        xr = np.interp(zs, along.z, along.x)
        pxr = np.interp(zs, along.z, along.px)
        th = np.arctan2(pxr, np.sqrt(1.0 - pxr**2))
        s = np.interp(zs, along.z, along.s)
    else:
        zs = fieldmap.z.copy() if z is None else np.asarray(z, float)
        xr = np.zeros_like(zs)
        th = np.zeros_like(zs)
        s = zs - zs[0]
    return zs, xr, th, s


def fit_multipoles(fieldmap: FieldMap, max_order=3, *, along: ReferenceOrbit | None = None,
                   radius_m=None, fit_order=None, n_points=21, z=None,
                   interpolation="tricubic"):
    """Fit the mid-plane field slice by slice with a polynomial in the transverse
    coordinate: b_n(z) = d^n By/dX^n and a_n(z) = d^n B_X/dX^n on the expansion axis.

    Parameters
    ----------
    fieldmap : FieldMap
    max_order : int
        Highest multipole returned (0 dipole, 1 quadrupole, 2 sextupole, 3 octupole).
    along : ReferenceOrbit, optional
        Expand about the reference orbit, along the line perpendicular to it in the
        mid-plane (feed-down included: at each slice the fit is centred on the orbit).
        Default: about the map axis x = 0, along x.
    radius_m : float, optional
        Half-width of the fitted range (default: 80 % of the largest range that stays
        inside the map at every slice).
    fit_order : int, optional
        Degree of the fitted polynomial; default ``max_order + 1``: one order above the
        highest one wanted, so the next term does not alias into it.
    n_points : int
        Sample points across the range.
    z : array_like, optional
        Slice positions (default: the map's z grid inside the orbit's span).

    Returns
    -------
    MultipoleFit

    Raises
    ------
    beamkit.FieldMapError
        If the sample lines leave the map or the fit is ill-conditioned.
    """
    max_order = v.integer("max_order", max_order, minimum=0)
    fit_order = max_order + 1 if fit_order is None else v.integer("fit_order", fit_order, minimum=0)
    n_points = v.integer("n_points", n_points, minimum=2)
    radius_m = v.scalar("radius_m", radius_m, positive=True, unit="m", allow_none=True)
    if fit_order < max_order:
        raise InputError("fit_order", fit_order, f"fit_order must be at least max_order = {max_order}",
                         "fit one order above the highest one wanted")
    if n_points <= fit_order + 1:
        raise FieldMapError(
            f"{n_points} points cannot determine a degree-{fit_order} polynomial with "
            "redundancy; use more points"
        )
    (x0, x1), _, _ = fieldmap.bounds
    zs, xr, th, s = _expansion_axis(fieldmap, along, z)
    if radius_m is None:
        room = np.min(np.minimum(xr - x0, x1 - xr) * np.cos(th))
        radius_m = 0.8 * room
    if not radius_m > 0:
        raise FieldMapError("the expansion axis is not inside the map")
    u = np.linspace(-radius_m, radius_m, n_points)
    ct, st = np.cos(th)[:, None], np.sin(th)[:, None]
    X = xr[:, None] + u[None, :] * ct
    Z = zs[:, None] - u[None, :] * st
    inside = fieldmap.contains(X, 0.0, Z)
    if not inside.all():
        raise FieldMapError(
            f"the fit range +-{radius_m:g} m leaves the map at some slices; use a smaller "
            "radius_m"
        )
    bx, by, bz = fieldmap.field(X, np.zeros_like(X), Z, interpolation=interpolation)
    bX = bx * ct - bz * st
    t = u / radius_m
    V = np.vander(t, fit_order + 1, increasing=True)
    cond = np.linalg.cond(V)
    if cond > 1e8:
        raise FieldMapError(f"ill-conditioned multipole fit (condition number {cond:.2g})")
    cb, _res_b, *_ = np.linalg.lstsq(V, by.T, rcond=None)
    ca, *_ = np.linalg.lstsq(V, bX.T, rcond=None)
    scale = np.array([factorial(n) / radius_m**n for n in range(fit_order + 1)])[:, None]
    b = (cb * scale)[: max_order + 1]
    a = (ca * scale)[: max_order + 1]
    resid = by.T - V @ cb
    rms = np.sqrt(np.mean(resid**2, axis=0))
    return MultipoleFit(z=zs, s=s, b=b, a=a, residual_rms_t=rms, radius_m=float(radius_m),
                        reference=along)
