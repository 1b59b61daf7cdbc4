"""beamkit: the library behind the executable textbook of accelerator beam physics.

Modules are named for the physics:

* :mod:`beamkit.matrices`: linear transfer matrices and periodic Twiss functions;
* :mod:`beamkit.lattices`: the book's lattices, described once for MAD-X, xtrack and
  matrices;
* :mod:`beamkit.madx`: MAD-X sessions (cpymad) that raise :class:`beamkit.MadxError`;
* :mod:`beamkit.optics`: Twiss tables from each engine and their comparison;
* :mod:`beamkit.tune`: tune analysis (NAFF);
* :mod:`beamkit.tracking`: turn-by-turn tracking helpers on xtrack;
* :mod:`beamkit.fieldmap`: 3D magnetic field maps: reading, interpolation, tracking,
  synthetic magnets, multipole fits and current scans;
* :mod:`beamkit.beam`: matched Gaussian distributions and beam moments;
* :mod:`beamkit.plotting`: optics along ``s`` with the magnet layout, phase space;
* :mod:`beamkit.ring_design`: a ring from its one-turn matrix (Twiss, integer tune,
  chromaticity, momentum compaction, slip factor) and isochronous rings.

Units are SI throughout (m, rad, eV for energies); mm and mrad appear only on plot axes.
"""

from . import errors
from .errors import (
    BeamkitError,
    BeamkitWarning,
    ConvergenceError,
    FieldMapError,
    IllConditionedError,
    InputError,
    MadxError,
    MadxTimeoutError,
    OutsideFieldMapError,
    UnstableLatticeError,
)

__version__ = "0.1.0"

__all__ = [
    "BeamkitError",
    "BeamkitWarning",
    "ConvergenceError",
    "FieldMapError",
    "IllConditionedError",
    "InputError",
    "MadxError",
    "MadxTimeoutError",
    "OutsideFieldMapError",
    "UnstableLatticeError",
    "__version__",
]
