"""The reference orbit through a bending magnet's map, and the change between the map's
Cartesian frame and the curvilinear (beam) frame at field-free planes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize
from scipy.constants import c as C_LIGHT

from .. import _validate as _v
from ..errors import FieldMapError, InputError
from ._map import FieldMap
from ._track import track

__all__ = [
    "FramePlane",
    "ReferenceOrbit",
    "find_reference_orbit",
    "from_map_frame",
    "to_map_frame",
]


@dataclass(frozen=True)
class FramePlane:
    """A plane z = ``z_m`` of the map crossed by the reference orbit at ``x_m`` with angle
    ``angle_rad`` to the z axis (positive towards +x). The curvilinear frame there has its
    origin on the orbit, X perpendicular to the orbit in the bending plane, Y = y and s
    along the orbit. The plane must be field-free (outside the fringe)."""

    x_m: float
    z_m: float
    angle_rad: float


def _as_arrays(coords):
    """Fresh 1D float arrays x, px, y, py, delta (delta 0 if absent); NaN allowed (lost)."""
    if not hasattr(coords, "keys"):
        raise InputError("coords", type(coords).__name__, "is not a mapping",
                         "give a dict of arrays x, px, y, py (and delta)")
    missing = [k for k in ("x", "px", "y", "py") if k not in coords]
    if missing:
        raise InputError("coords", sorted(coords), f"lacks {missing}", "give arrays x, px, y, py")
    n = np.size(coords["x"])
    out = {}
    for k in ("x", "px", "y", "py", "delta"):
        a = _v.array(f"coords[{k!r}]", coords.get(k, 0.0), ndim=(0, 1), allow_nan=True)
        out[k] = np.full(n, a.item()) if a.size == 1 else a
        if out[k].shape != (n,):
            raise InputError(f"coords[{k!r}]", a, f"has shape {a.shape}, expected ({n},)",
                             "give one value per particle")
    bad = (out["delta"] <= -1.0) | (out["px"] ** 2 + out["py"] ** 2 >= (1.0 + out["delta"]) ** 2)
    if bad.any():  # NaN compares False: lost particles pass through as NaN
        i = int(np.argmax(bad))
        raise InputError("coords", {k: float(out[k][i]) for k in ("px", "py", "delta")},
                         f"particle {i} has px^2 + py^2 >= (1 + delta)^2 or delta <= -1: no "
                         "forward momentum", "give delta > -1 and |(px, py)| < 1 + delta")
    return out


def to_map_frame(coords, plane: FramePlane):
    """Curvilinear coordinates (X, PX, Y, PY, delta) at ``plane`` to the map's Cartesian
    coordinates (x, px, y, py, delta) at z = ``plane.z_m``.

    Exact for a field-free plane: the frame is rotated by the orbit angle and each
    particle is drifted along its own direction back to z = ``plane.z_m``. The path-length
    (zeta) change of that drift is not tracked.

    Parameters
    ----------
    coords : mapping
        Arrays ``x, px, y, py`` and optionally ``delta`` in the curvilinear frame
        (m, and momenta over P0).
    plane : FramePlane

    Returns
    -------
    dict
        ``x, px, y, py, delta`` in the map frame.
    """
    c = _as_arrays(coords)
    ct, st = np.cos(plane.angle_rad), np.sin(plane.angle_rad)
    P = 1.0 + c["delta"]
    ps = np.sqrt(P**2 - c["px"] ** 2 - c["py"] ** 2)
    px = c["px"] * ct + ps * st
    pz = -c["px"] * st + ps * ct
    x = plane.x_m + c["x"] * ct
    dz = c["x"] * st  # z of the point is z_m - X sin(theta); drift by +X sin(theta)
    return {"x": x + px / pz * dz, "px": px, "y": c["y"] + c["py"] / pz * dz, "py": c["py"],
            "delta": c["delta"]}


def from_map_frame(coords, plane: FramePlane):
    """Map-frame coordinates at z = ``plane.z_m`` to the curvilinear frame at ``plane``
    (the inverse of :func:`to_map_frame`)."""
    c = _as_arrays(coords)
    ct, st = np.cos(plane.angle_rad), np.sin(plane.angle_rad)
    P = 1.0 + c["delta"]
    pz = np.sqrt(P**2 - c["px"] ** 2 - c["py"] ** 2)
    PX = c["px"] * ct - pz * st
    PS = c["px"] * st + pz * ct
    dxm = c["x"] - plane.x_m
    tau = -dxm * st / PS  # drift parameter along the momentum to the perpendicular plane
    return {"x": dxm * ct + tau * PX, "px": PX, "y": c["y"] + tau * c["py"], "py": c["py"],
            "delta": c["delta"]}


@dataclass
class ReferenceOrbit:
    """The orbit of the reference particle through a map (from :func:`find_reference_orbit`).

    Attributes
    ----------
    z, x, px : numpy.ndarray
        Samples along the orbit (m, m, Px/P0).
    s : numpy.ndarray
        Path length from the entry plane in m.
    entry, exit : FramePlane
        The field-free planes at the two ends.
    p0c_ev, q0 : float
        Reference momentum (eV) and charge (e) the orbit was found for.
    """

    z: np.ndarray
    x: np.ndarray
    px: np.ndarray
    s: np.ndarray
    entry: FramePlane
    exit: FramePlane
    p0c_ev: float
    q0: float
    current_a: float | None = None

    @property
    def angle_rad(self):
        """Bending angle (entry angle minus exit angle) in rad."""
        return self.entry.angle_rad - self.exit.angle_rad

    @property
    def length_m(self):
        """Path length between the entry and exit planes in m."""
        return float(self.s[-1])

    @property
    def theta(self):
        """Orbit angle to the z axis along the samples, in rad."""
        return np.arctan2(self.px, np.sqrt(1.0 - self.px**2))

    @property
    def brho_tm(self):
        """Magnetic rigidity P0/q of the reference particle in T m."""
        return self.p0c_ev / (C_LIGHT * self.q0)


def find_reference_orbit(fieldmap: FieldMap, p0c, q0, *, z_start=None, z_end=None,
                         x_entry=0.0, x_exit=None, x_middle=None, n_steps=None,
                         interpolation="tricubic"):
    """Find the reference orbit by shooting: the on-momentum trajectory in the mid-plane
    that enters at ``(x_entry, z_start)`` and leaves through ``(x_exit, z_end)``.

    Parameters
    ----------
    fieldmap : FieldMap
        Usually the map at the nominal current.
    p0c, q0 : float
        Reference momentum in eV and charge in units of e.
    z_start, z_end : float, optional
        Field-free entry and exit planes in m (default: the map's ends).
    x_entry, x_exit : float
        Where the orbit crosses them, in m (``x_exit`` defaults to ``x_entry``, the
        symmetric orbit of a straight magnet).
    x_middle : float, optional
        Instead of ``x_entry``: the x in m at which the symmetric orbit (``x_exit =
        x_entry``) crosses the middle of ``[z_start, z_end]``; ``x_entry`` is then found by
        a second shooting loop. Splitting the sagitta (``x_middle = -x`` at the magnet
        ends) centres the orbit on a straight magnet's axis.
    n_steps : int, optional
        RK4 steps (default: four per grid cell in z).

    Returns
    -------
    ReferenceOrbit

    Raises
    ------
    beamkit.FieldMapError
        If the shooting does not converge (the orbit leaves the map, say).
    """
    (zmin, zmax) = fieldmap.bounds[2]
    x_entry = _v.scalar("x_entry", x_entry, unit="m")
    x_exit = _v.scalar("x_exit", x_exit, unit="m", allow_none=True)
    x_middle = _v.scalar("x_middle", x_middle, unit="m", allow_none=True)
    z_start = _v.scalar("z_start", z_start, unit="m", allow_none=True)
    z_end = _v.scalar("z_end", z_end, unit="m", allow_none=True)
    if n_steps is not None:
        n_steps = _v.integer("n_steps", n_steps, minimum=1)
    if x_middle is not None:
        if x_exit is not None:
            raise InputError("x_exit", x_exit, "x_middle fixes a symmetric orbit",
                             "give x_middle or x_exit, not both")
        return _shoot_for_x_middle(fieldmap, p0c, q0, z_start, z_end, x_middle, n_steps,
                                   interpolation)
    z_start = zmin if z_start is None else float(z_start)
    z_end = zmax if z_end is None else float(z_end)
    x_exit = x_entry if x_exit is None else float(x_exit)
    if n_steps is None:
        n_steps = int(np.ceil(4 * abs(z_end - z_start) / fieldmap.spacing[2]))

    def shoot(px0, record=None):
        r = track(fieldmap, {"x": np.array([x_entry]), "px": np.array([px0]),
                             "y": np.zeros(1), "py": np.zeros(1)},
                  z_start, z_end, n_steps, "rk4", interpolation=interpolation,
                  p0c=p0c, q0=q0, record_every=record, progress=False)
        return r

    def miss(px0):
        r = shoot(px0)
        if r.lost[0]:
            return np.nan
        return r.x[0] - x_exit

    # first guess: straight line, bending angle from the field integral along it
    zz = np.linspace(z_start, z_end, 2001)
    xline = x_entry + (x_exit - x_entry) * (zz - z_start) / (z_end - z_start)
    _, by, _ = fieldmap.field(xline, np.zeros_like(zz), zz, interpolation=interpolation)
    angle = q0 * C_LIGHT / p0c * np.trapezoid(by, zz)
    guess = (x_exit - x_entry) / (z_end - z_start) + 0.5 * angle
    try:
        sol = optimize.root_scalar(miss, x0=guess, x1=guess * 1.001 + 1e-7, method="secant",
                                   xtol=1e-15, rtol=1e-14, maxiter=50)
        ok = sol.converged and np.isfinite(sol.root)
    except (ValueError, RuntimeError):
        ok = False
    if not ok or not abs(miss(sol.root)) < 1e-10:
        raise FieldMapError(
            "shooting for the reference orbit did not converge (does the orbit stay inside "
            f"the map? entry x = {x_entry:g} m, exit x = {x_exit:g} m)"
        )
    return _orbit_from_track(shoot(sol.root, record=1), z_start, z_end, p0c, q0, fieldmap.current_a)


def _shoot_for_x_middle(fieldmap, p0c, q0, z_start, z_end, x_middle, n_steps, interpolation):
    """The symmetric orbit crossing the middle of [z_start, z_end] at ``x_middle`` (m)."""

    def mid_miss(xe):
        o = find_reference_orbit(fieldmap, p0c, q0, z_start=z_start, z_end=z_end,
                                 x_entry=xe, n_steps=n_steps, interpolation=interpolation)
        zm = 0.5 * (o.entry.z_m + o.exit.z_m)
        return float(np.interp(zm, o.z, o.x)) - x_middle

    sol = optimize.root_scalar(mid_miss, x0=x_middle, x1=x_middle - 1e-3, method="secant",
                               xtol=1e-13, maxiter=30)
    if not sol.converged:
        raise FieldMapError("shooting for x_middle did not converge")
    return find_reference_orbit(fieldmap, p0c, q0, z_start=z_start, z_end=z_end,
                                x_entry=sol.root, n_steps=n_steps, interpolation=interpolation)


def _orbit_from_track(r, z_start, z_end, p0c, q0, current_a):
    """A :class:`ReferenceOrbit` from the recorded track of the shot particle."""
    t = r.trajectories
    z, x, px = t.z, t.x[:, 0], t.px[:, 0]
    slope = px / np.sqrt(1.0 - px**2)
    ds = np.sqrt(1.0 + slope**2)
    s = np.concatenate([[0.0], np.cumsum(0.5 * (ds[1:] + ds[:-1]) * np.diff(z))])
    return ReferenceOrbit(
        z=z, x=x, px=px, s=s,
        entry=FramePlane(float(x[0]), z_start, float(np.arctan(slope[0]))),
        exit=FramePlane(float(x[-1]), z_end, float(np.arctan(slope[-1]))),
        p0c_ev=float(p0c), q0=float(q0), current_a=current_a,
    )
