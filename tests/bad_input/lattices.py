"""Bad-input rows for beamkit.lattices and beamkit.matrices."""

import numpy as np

from beamkit import lattices
from beamkit import matrices as mx
from beamkit.errors import InputError

CASES = [
    ("fodo-negative-length", lambda: lattices.fodo_cell(-1.0, 5.0), InputError, ["length_m", "positive"]),
    ("fodo-quads-too-long", lambda: lattices.fodo_cell(10.0, 5.0, quad_length_m=6.0), InputError,
     ["quad_length_m", "do not fit"]),
    ("fodo-energy-below-mass", lambda: lattices.fodo_cell(10.0, 5.0, energy_ev=1e6), InputError,
     ["energy_ev", "rest energy"]),
    ("fodo-particle", lambda: lattices.fodo_cell(10.0, 5.0, particle="muon"), InputError,
     ["particle", "muon", "known"]),
    ("lattice-unknown-kind",
     lambda: lattices.Lattice("c", 10.0, (lattices.Magnet("m", "octupole", 5.0),), {}),
     InputError, ["kind", "octupole", "quadrupole"]),
    ("expression-unknown-variable", lambda: lattices.fodo_cell(10.0, 5.0).value("k_nope * 2"), InputError,
     ["expression", "k_nope"]),
    ("matrix-plane", lambda: mx.quadrupole(0.1, 1.0, plane="z"), InputError, ["plane", "'z'"]),
    ("matrix-dim", lambda: mx.drift(1.0, dim=4), InputError, ["dim", "4"]),
    ("bend-length", lambda: mx.sector_bend(0.1, 0.0), InputError, ["length_m", "positive"]),
    ("periodic-shape", lambda: mx.periodic_twiss(np.eye(4)), InputError, ["matrix", "2x2 or 3x3"]),
    ("periodic-nan", lambda: mx.periodic_twiss(np.full((2, 2), np.nan)), InputError, ["matrix", "nan"]),
    ("line-empty", lambda: mx.line_matrix([]), InputError, ["matrices", "at least one"]),
]
