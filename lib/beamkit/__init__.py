"""beamkit: the library behind the executable textbook of accelerator beam physics.

Modules are named for the physics:

* :mod:`beamkit.matrices`: linear transfer matrices and periodic Twiss functions;
* :mod:`beamkit.lattices`: the book's lattices, described once for MAD-X, xtrack and
  matrices;
* :mod:`beamkit.elements`: the element kinds, dispatched in one place;
* :mod:`beamkit.madx`: MAD-X sessions (cpymad) that raise :class:`beamkit.MadxError`;
* :mod:`beamkit.optics`: Twiss tables from each engine and their comparison;
* :mod:`beamkit.longitudinal`: momentum compaction, transition and the slip factor;
* :mod:`beamkit.chromaticity`: thin-lens formulas, sextupole response, chromaticity
  from tracking, matching with sextupoles;
* :mod:`beamkit.tune`: tune analysis (NAFF), spectral only;
* :mod:`beamkit.tracking`: turn-by-turn and single-pass tracking on xtrack;
* :mod:`beamkit.fieldmap`: 3D magnetic field maps: reading, interpolation, tracking,
  synthetic magnets, multipole fits and current scans;
* :mod:`beamkit.beam`: matched Gaussian distributions and beam moments;
* :mod:`beamkit.bpm`: emittances from the quadrupole moments of 4-plate BPMs: plate
  signals, modes, the least-squares fit, a booster-like ring and a simulated ramp;
* :mod:`beamkit.fits`: weighted polynomial fits with Birge-scaled errors;
* :mod:`beamkit.sextupole_scan`: sextupole strength scans: calibration, alignment and beam
  size;
* :mod:`beamkit.radiation`: synchrotron radiation of one particle, radiation integrals and
  the equilibrium of electron rings;
* :mod:`beamkit.plotting`: optics along ``s`` with the magnet layout, phase space;
* :mod:`beamkit.reference_values`: published numbers the tests and chapters compare with;
* :mod:`beamkit._threads`: how many threads the compiled and BLAS code may use (CPU
  affinity, cgroup quota, ``BEAMKIT_NUM_THREADS``);
* :mod:`beamkit.ring_design`: a ring from its one-turn matrix (Twiss, integer tune,
  chromaticity, momentum compaction, slip factor) and isochronous rings.

``CONTRIBUTING.md`` has the module map.

Units are SI throughout (m, rad, eV for energies); mm and mrad appear only on plot axes.
"""

from . import errors
from .errors import *  # noqa: F403 - the error classes, listed once in errors.__all__

__version__ = "0.1.0"

__all__ = [*errors.__all__, "__version__"]
