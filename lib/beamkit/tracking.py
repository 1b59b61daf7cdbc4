"""Tracking with xtrack, returned as frozen results of plain numpy arrays.

A "turn" is one pass through the line: tracking one FODO cell turn by turn tracks a ring
made of identical cells, so the tune is the cell's phase advance / 2 pi and Q' is per cell.

Lost particles follow one convention across beamkit (:mod:`beamkit.fieldmap` too): every
result carries ``lost`` (bool, shape ``(n_particles,)``) and the place of loss as a float
array of shape ``(n_particles,)`` that is NaN for particles kept (here ``lost_at_turn``,
the turn index); coordinates recorded after a loss are NaN. Rows are always in the order
the particles were given, whatever order xtrack keeps them in.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import _validate as v
from .errors import InputError

__all__ = ["TurnByTurn", "Coordinates", "track_turns", "track_pass", "thin_line"]

_COORDS = ("x", "px", "y", "py", "delta", "zeta")
# Bytes per particle and turn of a turn-by-turn record: xtrack's monitor holds ~241 (measured
# from its buffer: 240 984 B for 10 particles x 100 turns), and the result 5 float64 arrays.
_RECORD_BYTES_PER_PARTICLE_TURN = 241 + 5 * 8


@dataclass(frozen=True, eq=False)
class TurnByTurn:
    """Coordinates recorded at the start of the line on every turn.

    Attributes
    ----------
    x, px, y, py, delta : numpy.ndarray
        Shape ``(n_particles, n_turns)``; ``x``, ``y`` in m, ``px``, ``py`` as xtrack's
        ``P_x / P_0`` (1), ``delta`` (1). A lost particle's entries are NaN after its turn
        of loss, so tune analysis returns NaN for it.
    lost : numpy.ndarray
        Booleans, shape ``(n_particles,)``: true for particles lost during tracking.
        xtrack marks a particle lost beyond its global aperture of 1 m in x or y, or at an
        element aperture.
    lost_at_turn : numpy.ndarray
        Floats, shape ``(n_particles,)``: the turn index (0 = the first pass) in which the
        particle was lost; NaN when kept.
    """

    x: np.ndarray
    px: np.ndarray
    y: np.ndarray
    py: np.ndarray
    delta: np.ndarray
    lost: np.ndarray
    lost_at_turn: np.ndarray

    @property
    def n_particles(self):
        return self.x.shape[0]

    @property
    def n_turns(self):
        return self.x.shape[1]


@dataclass(frozen=True, eq=False)
class Coordinates:
    """Particle coordinates after one pass (:func:`track_pass`), in the order given.

    Attributes
    ----------
    x, px, y, py, delta, zeta : numpy.ndarray
        Shape ``(n_particles,)``; m, 1 (``P_x/P_0``), m, 1, 1, m; NaN for lost particles.
    lost : numpy.ndarray
        Booleans, shape ``(n_particles,)``.
    """

    x: np.ndarray
    px: np.ndarray
    y: np.ndarray
    py: np.ndarray
    delta: np.ndarray
    zeta: np.ndarray
    lost: np.ndarray

    @property
    def n_particles(self):
        return self.x.shape[0]

    def to_frame(self):
        """One row per particle: the coordinates and ``lost``."""
        import pandas as pd

        return pd.DataFrame({k: getattr(self, k) for k in (*_COORDS, "lost")})


def _check_line(line, need_reference=True):
    """The line must be an xtrack.Line (with a reference particle if ``need_reference``)."""
    import xtrack as xt

    if not isinstance(line, xt.Line):
        raise InputError("line", type(line).__name__, "is not an xtrack.Line",
                         "give an xtrack.Line, e.g. lattices.fodo_cell(...).to_xtrack()")
    if need_reference and line.particle_ref is None:
        raise InputError("line", line, "has no particle_ref", "set line.particle_ref = xt.Particles(...)")
    return xt


def _particles(line, coords):
    """xt.Particles on the line's reference from initial coordinates (broadcast to one shape).

    Checked: finite real numbers, at least one particle, one common shape, delta > -1."""
    xt = _check_line(line)
    arrays = [v.array(name, np.atleast_1d(coords[name]), ndim=1, min_size=1,
                      fix="give at least one particle (scalars or arrays of one length)")
              for name in _COORDS]
    try:
        arrays = np.broadcast_arrays(*arrays)
    except ValueError:
        raise InputError("x, px, y, py, delta, zeta", [a.shape for a in arrays],
                         "cannot be broadcast to one shape", "give scalars or arrays of one length") from None
    v.array("delta", arrays[_COORDS.index("delta")], greater_than=-1.0,
            fix="delta = (P - P0) / P0 must be > -1 (a positive momentum)")
    ref = line.particle_ref
    return xt.Particles(p0c=ref.p0c[0], mass0=ref.mass0, q0=ref.q0,
                        **{name: np.array(a) for name, a in zip(_COORDS, arrays)})


def track_turns(line, n_turns, *, x=0.0, px=0.0, y=0.0, py=0.0, delta=0.0, zeta=0.0):
    """Track particles through ``line`` for ``n_turns`` turns, recording every turn.

    Parameters
    ----------
    line : xtrack.Line
        With ``particle_ref`` set.
    n_turns : int
        Number of turns (passes through the line) recorded, the first being the
        initial coordinates.
    x, px, y, py, delta, zeta : float or array_like
        Initial coordinates (m, 1, m, 1, 1, m), broadcast to a common shape; finite, at
        least one particle, ``delta > -1``.

    Returns
    -------
    TurnByTurn

    Raises
    ------
    beamkit.InputError
        For ``n_turns`` not an integer >= 1, a ``line`` that is not an xtrack.Line with a
        ``particle_ref``, empty, NaN/inf or complex coordinates, lengths that cannot be
        broadcast together, ``delta <= -1``, or a record (about 280 bytes per particle and
        turn) larger than 80 % of the machine's memory, refused before any allocation.

    Notes
    -----
    The line's elements, variables and ``particle_ref`` are not changed; xtrack builds its
    tracker if needed and keeps the last track in ``line.record_last_track``.
    """
    n_turns = v.integer("n_turns", n_turns, minimum=1)
    particles = _particles(line, dict(x=x, px=px, y=y, py=py, delta=delta, zeta=zeta))
    n = int(particles._capacity)
    v.fits_in_memory("n_turns", n_turns, float(_RECORD_BYTES_PER_PARTICLE_TURN) * n * n_turns,
                     f"recording {n_turns} turns of {n} particles",
                     "track fewer turns or particles, or in several calls")
    line.track(particles, num_turns=n_turns, turn_by_turn_monitor=True)
    rec = line.record_last_track
    # xtrack may reorder particles (lost ones last); the monitor's rows follow
    # particle_id, so sort the final state the same way.
    order = np.argsort(particles.particle_id)
    state = particles.state[order]
    lost = state <= 0
    lost_at_turn = np.where(lost, particles.at_turn[order], np.nan).astype(float)
    grab = {name: np.array(getattr(rec, name), dtype=float) for name in ("x", "px", "y", "py", "delta")}
    # After a loss the monitor holds zeros, which would pass for real data: mark them NaN.
    after_loss = np.arange(n_turns)[None, :] > np.where(lost, lost_at_turn, n_turns)[:, None]
    for arr in grab.values():
        arr[after_loss] = np.nan
    return TurnByTurn(grab["x"], grab["px"], grab["y"], grab["py"], grab["delta"], lost, lost_at_turn)


def track_pass(line, coordinates):
    """Track particles once through ``line``; coordinates at its end, in the order given.

    Parameters
    ----------
    line : xtrack.Line
        With ``particle_ref`` set (its ``p0c``, mass and charge are used).
    coordinates : mapping
        Initial ``x``, ``px``, ``y``, ``py``, ``delta``, ``zeta`` (m, 1, m, 1, 1, m); missing
        keys are 0, e.g. the dict of :func:`beamkit.beam.matched_gaussian`. Not modified.

    Returns
    -------
    Coordinates

    Raises
    ------
    beamkit.InputError
        As :func:`track_turns`, and for a ``coordinates`` that is not a mapping or has keys
        other than the coordinates.
    """
    if not hasattr(coordinates, "keys"):
        raise InputError("coordinates", type(coordinates).__name__, "is not a mapping",
                         f"give a dict with the keys {', '.join(_COORDS)}")
    unknown = set(coordinates) - set(_COORDS)
    if unknown:
        raise InputError("coordinates", sorted(unknown), "are not coordinates",
                         f"use the keys {', '.join(_COORDS)}")
    _check_line(line)
    particles = _particles(line, {name: coordinates.get(name, 0.0) for name in _COORDS})
    line.track(particles)
    # xtrack moves lost particles to the end: sort back by particle_id.
    order = np.argsort(particles.particle_id)
    lost = particles.state[order] <= 0
    out = {}
    for name in _COORDS:
        arr = np.array(getattr(particles, name)[order], dtype=float)
        arr[lost] = np.nan
        out[name] = arr
    return Coordinates(**out, lost=lost)


def thin_line(line, slices=1):
    """A copy of ``line`` with every thick magnet cut into ``slices`` thin kicks.

    Uses xtrack's TEAPOT slicing in thin mode (one slice: a kick at the centre of the
    magnet), the same model as :meth:`beamkit.madx.MadxSession.makethin` with
    ``style="teapot"``. Drifts stay thick. The original line is not changed.
    """
    import xtrack as xt

    slices = v.integer("slices", slices, minimum=1, fix="give at least 1 slice")
    _check_line(line, need_reference=False)
    thin = line.copy(shallow=False)
    thin.slice_thick_elements(
        slicing_strategies=[xt.Strategy(slicing=None),
                            xt.Strategy(slicing=xt.Teapot(slices, mode="thin"))],
        with_progress=False)
    return thin
