"""Turn-by-turn tracking with xtrack, returned as plain numpy arrays.

A "turn" is one pass through the line: tracking one FODO cell turn by turn tracks a ring
made of identical cells, so the tune is the cell's phase advance / 2 pi and Q' is per cell.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["TurnByTurn", "track_turns", "thin_line"]


@dataclass
class TurnByTurn:
    """Coordinates recorded at the start of the line on every turn.

    Arrays have shape ``(n_particles, n_turns)``; ``x``, ``y`` in m, ``px``, ``py`` in
    rad (xtrack's ``P_x / P_0``), ``delta`` relative. ``lost`` has shape
    ``(n_particles,)`` and ``lost_at_turn`` gives the turn of loss (-1 if kept); a lost
    particle's coordinates are NaN after that turn, so tune analysis returns NaN for it.
    xtrack marks a particle lost beyond its global aperture of 1 m in x or y, or at an
    element aperture.
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


def track_turns(line, num_turns, *, x=0.0, px=0.0, y=0.0, py=0.0, delta=0.0, zeta=0.0):
    """Track particles through ``line`` for ``num_turns`` turns, recording every turn.

    Parameters
    ----------
    line : xtrack.Line
        With ``particle_ref`` set.
    num_turns : int
        Number of turns (passes through the line) recorded, the first being the
        initial coordinates.
    x, px, y, py, delta, zeta : float or array_like
        Initial coordinates (m, rad, m, rad, 1, m), broadcast to a common shape.

    Returns
    -------
    TurnByTurn
    """
    import xtrack as xt

    if int(num_turns) < 1:
        raise ValueError(f"num_turns must be at least 1, got {num_turns}")
    coords = np.broadcast_arrays(*(np.atleast_1d(np.asarray(v, float))
                                   for v in (x, px, y, py, delta, zeta)))
    ref = line.particle_ref
    particles = xt.Particles(p0c=ref.p0c[0], mass0=ref.mass0, q0=ref.q0,
                             x=coords[0], px=coords[1], y=coords[2], py=coords[3],
                             delta=coords[4], zeta=coords[5])
    line.track(particles, num_turns=int(num_turns), turn_by_turn_monitor=True)
    rec = line.record_last_track
    # xtrack may reorder particles (lost ones last); the monitor's rows follow
    # particle_id, so sort the final state the same way.
    order = np.argsort(particles.particle_id)
    state = particles.state[order]
    at_turn = np.where(state > 0, -1, particles.at_turn[order])
    grab = {name: np.array(getattr(rec, name), dtype=float) for name in ("x", "px", "y", "py", "delta")}
    # After a loss the monitor holds zeros, which would pass for real data: mark them NaN.
    after_loss = np.arange(int(num_turns))[None, :] > np.where(state <= 0, at_turn, num_turns)[:, None]
    for arr in grab.values():
        arr[after_loss] = np.nan
    return TurnByTurn(grab["x"], grab["px"], grab["y"], grab["py"], grab["delta"], state <= 0, at_turn)


def thin_line(line, slices=1):
    """A copy of ``line`` with every thick magnet cut into ``slices`` thin kicks.

    Uses xtrack's TEAPOT slicing in thin mode (one slice: a kick at the centre of the
    magnet), the same model as :meth:`beamkit.madx.MadxSession.makethin` with
    ``style="teapot"``. Drifts stay thick. The original line is not changed.
    """
    import xtrack as xt

    if int(slices) < 1:
        raise ValueError(f"slices must be at least 1, got {slices}")
    thin = line.copy(shallow=False)
    thin.slice_thick_elements(
        slicing_strategies=[xt.Strategy(slicing=None),
                            xt.Strategy(slicing=xt.Teapot(int(slices), mode="thin"))],
        with_progress=False)
    return thin
