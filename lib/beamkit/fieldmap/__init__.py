"""Three-dimensional magnetic field maps: reading, interpolation, tracking and models.

* :class:`FieldMap`: the field on a regular grid, read from ``.npz``, HDF5 or text tables;
* :func:`track`: particles through the map (RK4 or Boris, z as independent variable);
"""

from ._map import FieldMap
from ._track import LOSS_REASONS, TrackResult, Trajectories, track

__all__ = ["FieldMap", "track", "TrackResult", "Trajectories", "LOSS_REASONS"]
