"""Three-dimensional magnetic field maps: reading, interpolation, tracking and models.

* :class:`FieldMap`: the field on a regular grid, from arrays, ``.npz``, HDF5 or text
  tables, with tricubic (reference) and trilinear interpolation and no extrapolation;
* :func:`track`: particles through the map, z the independent variable, exact equations,
  RK4 or spatial Boris, compiled with numba and vectorised over particles;
* :func:`find_reference_orbit`, :func:`to_map_frame`, :func:`from_map_frame`: the
  reference orbit of a bending magnet and the beam's curvilinear frame;
* :func:`synthetic_combined_function_magnet`: a Maxwell-consistent model map;
* :func:`fit_multipoles`: b_n(z) and integrals, and xtrack models built from them;
* :func:`scan_current`: one seeded beam tracked at several excitation currents, on any
  :class:`concurrent.futures.Executor`.

Units: m, T, eV; momenta px = Px/P0, py = Py/P0 as in xtrack.
"""

from ._frames import (
    FramePlane,
    ReferenceOrbit,
    find_reference_orbit,
    from_map_frame,
    to_map_frame,
)
from ._map import FieldMap
from ._multipoles import MultipoleFit, feed_down, fit_multipoles
from ._scan import CurrentScan, LinearExcitation, scan_current
from ._synthetic import PS_LIKE, enge, synthetic_combined_function_magnet
from ._track import LOSS_REASONS, TrackResult, Trajectories, track

__all__ = [
    "LOSS_REASONS",
    "PS_LIKE",
    "CurrentScan",
    "FieldMap",
    "FramePlane",
    "LinearExcitation",
    "MultipoleFit",
    "ReferenceOrbit",
    "TrackResult",
    "Trajectories",
    "enge",
    "feed_down",
    "find_reference_orbit",
    "fit_multipoles",
    "from_map_frame",
    "scan_current",
    "synthetic_combined_function_magnet",
    "to_map_frame",
    "track",
]
