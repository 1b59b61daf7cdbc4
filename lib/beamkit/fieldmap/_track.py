"""Tracking particles through a :class:`FieldMap` with z as the independent variable."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy.constants import c as C_LIGHT

from .. import _threads
from .. import _validate as v
from ..errors import FieldMapError, InputError
from . import _grid
from . import _kernels as K
from ._loss import ALIVE, LEFT_MAP, LOSS_REASONS, LOST_BEFORE
from ._map import FieldMap

__all__ = ["LOSS_REASONS", "TrackResult", "Trajectories", "track"]

# Planes held at once per block of steps: bounded so the working set stays small
# (a few MB) whatever the number of particles.
_PLANE_BUDGET_BYTES = 8 * 2**20
_MAX_BLOCK = 64
# Show a progress bar by default above this many particle-steps (about a second of work).
_PROGRESS_THRESHOLD = 2e7
# Fewest particles in a piece of the beam given to a thread. Each piece builds its own
# interpolation planes (per step: ~4 flops per plane value, 1 or 2 planes) while a particle
# step costs ~500 flops; a piece holds at least 1024 particles and enough that its planes cost
# under ~5% of its particle work: 0.16 particles per plane value and plane per step.
_MIN_PARTICLES_PER_PIECE = 1024
_PARTICLES_PER_PLANE_VALUE = 0.16


@dataclass(frozen=True)
class Trajectories:
    """Recorded states: ``z`` (n_rec,) in m and ``x, px, y, py`` of shape (n_rec, N)
    (m, and momenta in units of P0). Entries after a particle's loss are NaN."""

    z: np.ndarray
    x: np.ndarray
    px: np.ndarray
    y: np.ndarray
    py: np.ndarray


@dataclass(frozen=True)
class TrackResult:
    """Particle coordinates at ``z_end`` (xtrack conventions).

    Attributes
    ----------
    x, y : numpy.ndarray
        Positions in m at ``z_end``; for lost particles, where they were at ``z_lost``
        (the start of the step in which they were lost), for both methods.
    px, py : numpy.ndarray
        Transverse momenta over the reference momentum, Px/P0 and Py/P0.
    delta : numpy.ndarray
        Relative momentum deviation (unchanged by a static magnetic field).
    lost : numpy.ndarray
        Boolean, shape (n_particles,): true for particles lost before or during tracking
        (the convention shared with :mod:`beamkit.tracking`).
    loss_code : numpy.ndarray
        Why, as int8 codes (see ``beamkit.fieldmap.LOSS_REASONS``).
    z_lost : numpy.ndarray
        Float, shape (n_particles,): z in m at the start of the step in which each lost
        particle was lost (NaN for particles kept).
    z_end : float
        Where the survivors are, in m.
    p0c_ev, q0 : float
        Reference momentum (eV) and charge (elementary charges).
    trajectories : Trajectories or None
        Recorded states when ``record_every`` was given (NaN after a loss).
    method, interpolation : str
        As given to :func:`track`.
    n_steps : int
        Integration steps.
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


# xtrack's state of the unused slots of an xt.Particles created with spare _capacity.
_UNUSED_SLOT_STATE = -999999999


def _check_delta(name, delta):
    """delta <= -1 is a zero or negative momentum: the equations use (1 + delta)^2 and would
    track it as |1 + delta|."""
    bad = delta <= -1.0  # NaN compares False: lost particles stay lost
    if bad.any():
        i = int(np.argmax(bad))
        raise InputError(name, delta, f"has {int(bad.sum())} value(s) <= -1, first {delta[i]:.6g} at "
                         f"index {i}: the momentum (1 + delta) P0 must be > 0",
                         "give delta = (P - P0) / P0 > -1")


def _from_xtrack(particles, p0c, q0):
    """Coordinate arrays, q/P0 per particle and loss codes from an xt.Particles (its unused
    slots, the spare capacity, are left out)."""
    if p0c is not None or q0 is not None:
        raise InputError("p0c", p0c, "p0c and q0 come from the xt.Particles object",
                         "do not pass them")
    get = particles._context.nparray_from_context_array
    state = np.array(get(particles.state))
    used = state != _UNUSED_SLOT_STATE
    arrs = {k: np.array(get(getattr(particles, k)), dtype=float)[used]
            for k in ("x", "px", "y", "py", "delta", "p0c", "charge_ratio")}
    alive = state[used] > 0
    q0_val = v.scalar("particles.q0", particles.q0, fix="give the xt.Particles a finite charge q0")
    p0c_all = arrs["p0c"]
    v.array("particles.p0c", p0c_all[alive], positive=True, unit="eV",
            fix="give the xt.Particles a finite, positive p0c")
    charge = q0_val * arrs["charge_ratio"][alive]
    if not np.all(np.isfinite(charge)) or np.any(charge == 0):
        raise InputError("particles.q0 * particles.charge_ratio", charge,
                         "holds zero or non-finite charges: a neutral particle is not deflected by "
                         "the field", "track charged particles only")
    for k in ("x", "px", "y", "py", "delta"):
        v.array(f"particles.{k}", arrs[k][alive], allow_nan=True)  # infinities refused
    _check_delta("particles.delta", arrs["delta"][alive])
    for k in ("x", "px", "y", "py", "delta"):
        # NaN coordinates of a particle still alive: lost before tracking, as for a mapping
        alive &= ~np.isnan(arrs[k])
    # reported reference momentum (the kicks use each particle's own p0c via kq)
    p0c_val = float(np.median(p0c_all[alive] if alive.any() else p0c_all))
    # per-particle q/P0 in 1/(T m): q0 * charge_ratio * c / p0c[eV]; 0 for particles not tracked
    kq = np.zeros(alive.size)
    kq[alive] = q0_val * arrs["charge_ratio"][alive] * C_LIGHT / p0c_all[alive]
    code = np.where(alive, ALIVE, LOST_BEFORE).astype(np.int8)
    return (arrs["x"], arrs["px"], arrs["y"], arrs["py"], arrs["delta"], kq, code,
            p0c_val, q0_val)


def _from_mapping(particles, p0c, q0):
    """The same from a mapping of arrays, with ``p0c`` (eV) and ``q0`` (e) given."""
    if p0c is None or q0 is None:
        raise InputError("p0c" if p0c is None else "q0", None, "is required with a mapping of arrays",
                         "give the reference momentum p0c (eV) and charge q0 (elementary "
                         "charges) as keywords")
    p0c = v.scalar("p0c", p0c, positive=True, unit="eV")
    q0 = v.scalar("q0", q0, fix="give the charge in units of e")
    if q0 == 0:
        raise InputError("q0", q0, "a neutral particle is not deflected by the field",
                         "track charged particles only")
    missing = [k for k in ("x", "px", "y", "py") if k not in particles]
    if missing:
        raise InputError("particles", sorted(particles), f"lacks {missing}",
                         "give arrays x, px, y, py (and optionally delta)")
    n = np.size(particles["x"])
    out = []
    for k in ("x", "px", "y", "py", "delta"):
        a = v.array(f"particles[{k!r}]", particles.get(k, 0.0), allow_nan=True)
        a = np.full(n, a.item()) if a.size == 1 and n != 1 else a.reshape(-1) if a.ndim == 0 else a
        if a.shape != (n,):
            raise InputError(f"particles[{k!r}]", a, f"has shape {a.shape}, expected ({n},)",
                             "give one value per particle")
        out.append(a)
    _check_delta("particles['delta']", out[4])
    code = np.zeros(n, dtype=np.int8)
    for a in out:  # NaN coordinates: lost before (no (5, n) temporary)
        code[np.isnan(a)] = LOST_BEFORE
    kq = np.full(n, q0 * C_LIGHT / p0c)
    return (*out, kq, code, p0c, q0)


def _particles_arrays(particles, p0c, q0):
    """(x, px, y, py, delta, kq, code, p0c, q0) as fresh float64 arrays."""
    try:
        import xtrack as xt

        if isinstance(particles, xt.Particles):
            return _from_xtrack(particles, p0c, q0)
    except ImportError:  # pragma: no cover
        pass
    if not isinstance(particles, Mapping):
        raise InputError("particles", type(particles).__name__, "is neither an xt.Particles nor a "
                         "mapping", "give an xt.Particles or a dict of coordinate arrays")
    return _from_mapping(particles, p0c, q0)


def _check_track_args(fieldmap, z_start, z_end, n_steps, method, interpolation):
    for name, value, options in (("method", method, ("rk4", "boris")),
                                 ("interpolation", interpolation, ("tricubic", "trilinear"))):
        v.choice(name, value, options, fix=f"unknown {name}: use one of {', '.join(options)}")
    n_steps = v.integer("n_steps", n_steps, minimum=1)
    (zmin, zmax) = fieldmap.bounds[2]
    zs = []
    for name, zv in (("z_start", z_start), ("z_end", z_end)):
        zv = v.scalar(name, zv, unit="m")
        if not (zmin <= zv <= zmax):
            raise FieldMapError(
                f"{name} = {zv:.6g} m is outside the map's z range [{zmin:.6g}, {zmax:.6g}] m "
                "(the map is not extrapolated)"
            )
        zs.append(zv)
    return zs[0], zs[1], n_steps, method, interpolation


def _check_record_memory(n_rec, n, n_steps, rec_every):
    """Refuse, before allocating, a recording larger than 80 % of the physical memory."""
    v.fits_in_memory("record_every", rec_every, 8.0 * 4 * n_rec * n,
                     f"recording {n_rec} states of {n} particles over {n_steps} steps",
                     "record less often (a larger record_every), fewer steps or fewer particles")


def _mark_outside(fieldmap, x, y, code, zlost, z):
    """Particles kept but outside the map's transverse range are lost (code 1) at ``z``."""
    (x0, x1), (y0, y1), _ = fieldmap.bounds
    outside = (code == ALIVE) & ~((x >= x0) & (x <= x1) & (y >= y0) & (y <= y1))
    code[outside] = LEFT_MAP
    zlost[outside] = z


def _block_size(plane_shape, per_step, rec_every):
    plane_bytes = 8 * np.prod(plane_shape)
    block = int(max(1, min(_MAX_BLOCK, _PLANE_BUDGET_BYTES // (per_step * plane_bytes))))
    return rec_every * max(1, block // rec_every) if rec_every else block


def _run_blocks(fieldmap, state, z_start, z_end, n_steps, rk4, cubic, rec, rec_every, bar):
    """Advance ``state`` (x, px, y, py, delta, kq, code, zlost) through all the steps.

    The particles are cut into a few large pieces (:func:`beamkit._threads.run_chunks`);
    each piece goes through every block of steps on one thread, with its own planes, so
    there is one fork and one join per call whatever the number of steps.
    """
    arr = fieldmap._layout("tricubic" if cubic else "trilinear")
    gp = fieldmap._grid_params()
    nxg, nyg, nzg = fieldmap.shape
    shape = _grid.plane_shape(nxg, nyg, cubic)
    per_step = 2 if rk4 else 1
    block = _block_size(shape, per_step, rec_every)
    h = (z_end - z_start) / n_steps
    n = state[0].size

    def piece(lo, hi):
        planes = np.empty((per_step * block + 1, *shape))  # per piece: threads share nothing
        part = tuple(a[lo:hi] for a in state)
        done = 0
        while done < n_steps:
            k = min(block, n_steps - done)
            zb = z_start + done * h
            zs = zb + 0.5 * h * np.arange(2 * k + 1) if rk4 else zb + h * (np.arange(k) + 0.5)
            K.make_planes(arr, gp[2], gp[5], nzg, cubic, zs, planes)
            r0 = done // rec_every + 1 if rec_every else 0
            rview = rec[r0: r0 + k // rec_every, :, lo:hi] if rec_every else rec
            K.advance(rk4, *part, planes, gp, nxg, nyg, cubic, zb, h, k, rview, rec_every)
            done += k
        bar.update(n_steps * (hi - lo) / n)

    min_piece = max(_MIN_PARTICLES_PER_PIECE,
                    int(_PARTICLES_PER_PLANE_VALUE * per_step * np.prod(shape)))
    _threads.run_chunks(n, piece, min_per_task=min_piece)


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
        ``state`` are used; it is not modified; unused slots of its spare capacity are
        left out of the result, rows follow its slots) or a mapping with arrays ``x, px, y, py``
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
    beamkit.InputError
        For an unknown method or interpolation, ``n_steps < 1`` or not an integer, missing,
        non-finite or non-positive ``p0c``, a zero or non-finite charge (neutral particles),
        ``delta <= -1``, coordinate arrays of different lengths, infinite coordinates, or a
        recording (``record_every``) that would need more than 80 % of the machine's memory.

    Notes
    -----
    A particle whose position (at any integration stage) leaves the map's transverse
    range is marked lost (``loss_code`` 1) with the z of the step where it happened; a
    particle whose momentum turns perpendicular to z is lost with code 2. Nothing is
    extrapolated.
    """
    z_start, z_end, n_steps, method, interpolation = _check_track_args(
        fieldmap, z_start, z_end, n_steps, method, interpolation)
    x, px, y, py, delta, kq, code, p0c_val, q0_val = _particles_arrays(particles, p0c, q0)
    n = x.size
    zlost = np.full(n, np.nan)
    zlost[code != ALIVE] = z_start
    _mark_outside(fieldmap, x, y, code, zlost, z_start)  # starting outside: lost at z_start
    rec_every = 0 if record_every is None else v.integer("record_every", record_every, minimum=1)
    if rec_every:
        n_rec = n_steps // rec_every
        _check_record_memory(n_rec + 1, n, n_steps, rec_every)
        rec = np.full((n_rec + 1, 4, n), np.nan)
        rec[0] = np.stack([x, px, y, py])
        rec[0][:, code != ALIVE] = np.nan
        rec_z = z_start + (z_end - z_start) * np.arange(n_rec + 1) * rec_every / n_steps
    else:
        rec = np.empty((1, 4, 0))
    show = progress if progress is not None else n * n_steps > _PROGRESS_THRESHOLD
    from tqdm import tqdm

    with tqdm(total=n_steps, disable=not show, unit="step",
              desc=f"{method}+{interpolation}, {n} particles") as bar:
        _run_blocks(fieldmap, (x, px, y, py, delta, kq, code, zlost), z_start, z_end, n_steps,
                    method == "rk4", interpolation == "tricubic", rec, rec_every, bar)
    # survivors must end inside the map too (no extrapolation at the exit plane)
    _mark_outside(fieldmap, x, y, code, zlost, z_end)
    traj = Trajectories(rec_z, rec[:, 0], rec[:, 1], rec[:, 2], rec[:, 3]) if rec_every else None
    return TrackResult(
        x=x, px=px, y=y, py=py, delta=delta, lost=code != ALIVE, loss_code=code, z_lost=zlost,
        z_end=float(z_end), p0c_ev=p0c_val, q0=q0_val, method=method,
        interpolation=interpolation, n_steps=n_steps, trajectories=traj,
    )
