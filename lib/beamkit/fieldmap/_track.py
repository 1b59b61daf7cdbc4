"""Tracking particles through a :class:`FieldMap` with z as the independent variable."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy.constants import c as C_LIGHT

from ..errors import FieldMapError
from . import _kernels as K
from ._map import _PAD, FieldMap

__all__ = ["track", "TrackResult", "Trajectories", "LOSS_REASONS"]

#: Meaning of :attr:`TrackResult.loss_code`.
LOSS_REASONS = {
    0: "alive",
    1: "left the map transversely",
    2: "turned back (pz <= 0)",
    3: "lost before tracking",
}

# Planes held at once per block of steps: bounded so the working set stays small
# (a few MB) whatever the number of particles.
_PLANE_BUDGET_BYTES = 8 * 2**20
_MAX_BLOCK = 64
# Show a progress bar by default above this many particle-steps (about a second of work).
_PROGRESS_THRESHOLD = 2e7


@dataclass
class Trajectories:
    """Recorded states: ``z`` (n_rec,) in m and ``x, px, y, py`` of shape (n_rec, N)
    (m, and momenta in units of P0). Entries after a particle's loss are NaN."""

    z: np.ndarray
    x: np.ndarray
    px: np.ndarray
    y: np.ndarray
    py: np.ndarray


@dataclass
class TrackResult:
    """Particle coordinates at ``z_end`` (xtrack conventions).

    Attributes
    ----------
    x, y : numpy.ndarray
        Positions in m at ``z_end`` (for lost particles: at the start of the step in
        which they were lost).
    px, py : numpy.ndarray
        Transverse momenta over the reference momentum, Px/P0 and Py/P0.
    delta : numpy.ndarray
        Relative momentum deviation (unchanged by a static magnetic field).
    lost : numpy.ndarray
        Boolean, true for particles lost before or during tracking.
    loss_code : numpy.ndarray
        Why, as int8 codes (see ``beamkit.fieldmap.LOSS_REASONS``).
    z_lost : numpy.ndarray
        z in m where each lost particle was lost (NaN for survivors).
    z_end : float
        Where the survivors are, in m.
    p0c_ev, q0 : float
        Reference momentum (eV) and charge (elementary charges).
    trajectories : Trajectories or None
        Recorded states when ``record_every`` was given.
    """

    x: np.ndarray
    px: np.ndarray
    y: np.ndarray
    py: np.ndarray
    delta: np.ndarray
    lost: np.ndarray
    loss_code: np.ndarray
    z_lost: np.ndarray
    z_end: float
    p0c_ev: float
    q0: float
    method: str
    interpolation: str
    n_steps: int
    trajectories: Trajectories | None = None

    @property
    def n_lost(self):
        """Number of lost particles."""
        return int(self.lost.sum())

    def coordinates(self, alive_only=True):
        """Dict of the coordinate arrays (survivors only by default)."""
        keep = ~self.lost if alive_only else slice(None)
        return {k: getattr(self, k)[keep] for k in ("x", "px", "y", "py", "delta")}

    def loss_summary(self):
        """Counts of lost particles by reason, e.g. ``{"left the map transversely": 3}``."""
        codes, counts = np.unique(self.loss_code[self.lost], return_counts=True)
        return {LOSS_REASONS[int(c)]: int(n) for c, n in zip(codes, counts)}


def _particles_arrays(particles, p0c, q0):
    """(x, px, y, py, delta, kq, code, p0c, q0) as fresh float64 arrays."""
    try:
        import xtrack as xt

        is_xt = isinstance(particles, xt.Particles)
    except ImportError:  # pragma: no cover
        is_xt = False
    if is_xt:
        if p0c is not None or q0 is not None:
            raise ValueError("p0c and q0 come from the xt.Particles object; do not pass them")
        ctx = particles._context
        get = ctx.nparray_from_context_array
        n = int(particles._capacity)
        arrs = {k: np.array(get(getattr(particles, k)), dtype=float)[:n]
                for k in ("x", "px", "y", "py", "delta", "p0c", "charge_ratio")}
        state = np.array(get(particles.state))[:n]
        q0_val = float(particles.q0)
        p0c_all = arrs["p0c"]
        alive = state > 0
        # reported reference momentum (the kicks use each particle's own p0c via kq)
        p0c_val = float(np.median(p0c_all[alive] if alive.any() else p0c_all))
        # per-particle q/P0 in 1/(T m): q0 * charge_ratio * c / p0c[eV]
        kq = q0_val * arrs["charge_ratio"] * C_LIGHT / p0c_all
        code = np.where(alive, K.ALIVE, K.LOST_BEFORE).astype(np.int8)
        return (arrs["x"], arrs["px"], arrs["y"], arrs["py"], arrs["delta"], kq, code,
                p0c_val, q0_val)
    if not isinstance(particles, Mapping):
        raise TypeError("particles must be an xt.Particles or a mapping of coordinate arrays")
    if p0c is None or q0 is None:
        raise ValueError(
            "with a mapping of arrays, give the reference momentum p0c (eV) and charge q0 "
            "(elementary charges) as keywords"
        )
    missing = [k for k in ("x", "px", "y", "py") if k not in particles]
    if missing:
        raise KeyError(f"particles mapping lacks {missing}")
    n = np.size(particles["x"])
    out = []
    for k in ("x", "px", "y", "py", "delta"):
        v = np.array(particles.get(k, 0.0), dtype=float)
        v = np.broadcast_to(v, (n,)).copy() if v.ndim == 0 or v.size == 1 else v.copy()
        if v.shape != (n,):
            raise ValueError(f"particles[{k!r}] has shape {v.shape}, expected ({n},)")
        out.append(v)
    if float(p0c) <= 0:
        raise ValueError(f"p0c must be positive (eV), got {p0c}")
    if float(q0) == 0:
        raise ValueError("q0 = 0: a neutral particle is not deflected by the field")
    kq = np.full(n, float(q0) * C_LIGHT / float(p0c))
    code = np.zeros(n, dtype=np.int8)
    finite = np.all(np.isfinite(np.stack(out)), axis=0)
    code[~finite] = K.LOST_BEFORE
    return (*out, kq, code, float(p0c), float(q0))


def track(fieldmap: FieldMap, particles, z_start, z_end, n_steps, method="rk4", *,
          interpolation="tricubic", p0c=None, q0=None, record_every=None, progress=None):
    """Track particles through a field map, z being the independent variable.

    The equations are the exact ones for a static magnetic field (no paraxial
    approximation), in xtrack's coordinates with P = (1 + delta) P0 and
    pz = sqrt((1 + delta)^2 - px^2 - py^2)::

        dx/dz = px/pz,  dpx/dz = (q/P0) (py/pz Bz - By)
        dy/dz = py/pz,  dpy/dz = (q/P0) (Bx - px/pz Bz)

    so that on axis dpx/dz = -(q/P0) By; q/P0 = q0 c / p0c[eV] in 1/(T m).

    Parameters
    ----------
    fieldmap : FieldMap
        The field, in its own Cartesian frame.
    particles : xtrack.Particles or mapping
        Either an :class:`xtrack.Particles` (its ``p0c``, ``q0``, ``charge_ratio`` and
        ``state`` are used; it is not modified) or a mapping with arrays ``x, px, y, py``
        and optionally ``delta`` (zero if absent), in which case ``p0c`` and ``q0`` must be
        given.
    z_start, z_end : float
        Start and end planes in m; both inside the map. ``z_end < z_start`` tracks
        backwards.
    n_steps : int
        Number of fixed integration steps, h = (z_end - z_start) / n_steps.
    method : {"rk4", "boris"}
        ``"rk4"``: classical Runge-Kutta, error O(h^4), the reference. ``"boris"``: a
        spatial Boris scheme (drift, kick-rotate-kick, drift), O(h^2), one field
        evaluation per step; the same scheme as :class:`xtrack.BorisSpatialIntegrator`.
    interpolation : {"tricubic", "trilinear"}
        See :meth:`FieldMap.field`.
    p0c, q0 : float, optional
        Reference momentum times c in eV and reference charge in units of e, for a mapping.
    record_every : int, optional
        Record the state every so many steps (for trajectory plots).
    progress : bool, optional
        Show a progress bar; by default only for long runs (> 2e7 particle-steps).

    Returns
    -------
    TrackResult

    Raises
    ------
    beamkit.FieldMapError
        If ``z_start`` or ``z_end`` lies outside the map.

    Notes
    -----
    A particle whose position (at any integration stage) leaves the map's transverse
    range is marked lost (``loss_code`` 1) with the z of the step where it happened; a
    particle whose momentum turns perpendicular to z is lost with code 2. Nothing is
    extrapolated.
    """
    if method not in ("rk4", "boris"):
        raise ValueError(f"unknown method {method!r}; use 'rk4' or 'boris'")
    if interpolation not in ("tricubic", "trilinear"):
        raise ValueError(f"unknown interpolation {interpolation!r}; use 'tricubic' or 'trilinear'")
    n_steps = int(n_steps)
    if n_steps < 1:
        raise ValueError("n_steps must be at least 1")
    (zmin, zmax) = fieldmap.bounds[2]
    for name, zv in (("z_start", z_start), ("z_end", z_end)):
        if not (zmin <= zv <= zmax):
            raise FieldMapError(
                f"{name} = {zv:.6g} m is outside the map's z range [{zmin:.6g}, {zmax:.6g}] m "
                "(the map is not extrapolated)"
            )
    x, px, y, py, delta, kq, code, p0c_val, q0_val = _particles_arrays(particles, p0c, q0)
    n = x.size
    zlost = np.full(n, np.nan)
    # particles that start outside the map are lost at z_start
    (x0, x1), (y0, y1), _ = fieldmap.bounds
    outside = (code == 0) & ~((x >= x0) & (x <= x1) & (y >= y0) & (y <= y1))
    code[outside] = K.LEFT_MAP
    zlost[outside] = z_start

    cubic = interpolation == "tricubic"
    arr = fieldmap._layout(interpolation)
    gp = fieldmap._grid_params()
    nxg, nyg, nzg = fieldmap.shape
    pad = _PAD if cubic else 0
    plane_shape = (nxg + 2 * pad, nyg + 2 * pad, 3)
    plane_bytes = 8 * np.prod(plane_shape)
    per_step = 2 if method == "rk4" else 1
    block = int(max(1, min(_MAX_BLOCK, _PLANE_BUDGET_BYTES // (per_step * plane_bytes))))
    rec_every = int(record_every) if record_every else 0
    if rec_every:
        block = rec_every * max(1, block // rec_every)
        n_rec = n_steps // rec_every
        rec = np.full((n_rec + 1, 4, n), np.nan)
        rec[0] = np.stack([x, px, y, py])
        rec_z = z_start + (z_end - z_start) * np.arange(n_rec + 1) * rec_every / n_steps
    else:
        rec = np.empty((1, 4, 0))
    h = (z_end - z_start) / n_steps
    kernel = K.rk4_block if method == "rk4" else K.boris_block
    show = progress if progress is not None else n * n_steps > _PROGRESS_THRESHOLD
    from tqdm import tqdm

    planes = np.empty((per_step * block + 1, *plane_shape))
    done = 0
    with tqdm(total=n_steps, disable=not show, unit="step",
              desc=f"{method}+{interpolation}, {n} particles") as bar:
        while done < n_steps:
            k = min(block, n_steps - done)
            zb = z_start + done * h
            if method == "rk4":
                zs = zb + 0.5 * h * np.arange(2 * k + 1)
            else:
                zs = zb + h * (np.arange(k) + 0.5)
            K.make_planes(arr, gp[2], gp[5], nzg, cubic, zs, planes)
            if rec_every:
                r0 = done // rec_every + 1
                rview = rec[r0: r0 + k // rec_every]
            else:
                rview = rec
            kernel(x, px, y, py, delta, kq, code, zlost, planes, gp, nxg, nyg, cubic,
                   zb, h, k, rview, rec_every)
            done += k
            bar.update(k)
    # survivors must end inside the map too (no extrapolation at the exit plane)
    out_end = (code == 0) & ~((x >= x0) & (x <= x1) & (y >= y0) & (y <= y1))
    code[out_end] = K.LEFT_MAP
    zlost[out_end] = z_end
    traj = None
    if rec_every:
        traj = Trajectories(rec_z, rec[:, 0], rec[:, 1], rec[:, 2], rec[:, 3])
    return TrackResult(
        x=x, px=px, y=y, py=py, delta=delta, lost=code != 0, loss_code=code, z_lost=zlost,
        z_end=float(z_end), p0c_ev=p0c_val, q0=q0_val, method=method,
        interpolation=interpolation, n_steps=n_steps, trajectories=traj,
    )
