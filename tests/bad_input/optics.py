"""Bad-input rows for beamkit.optics."""

import functools

import numpy as np

from beamkit import lattices, madx, optics
from beamkit.errors import InputError, UnstableLatticeError

_CELL = lattices.fodo_cell(20.0, 8.0)

CASES = [
    ("matrices-step-negative", lambda: optics.twiss_matrices(_CELL, max_step_m=-1.0), InputError,
     ["max_step_m", "> 0"]),
    ("matrices-delta-step-large", lambda: optics.twiss_matrices(_CELL, delta_step=0.5), InputError,
     ["delta_step", "<= 0.01"]),
    ("compare-empty", lambda: optics.compare({}), InputError, ["results", "empty"]),
    ("compare-not-optics", lambda: optics.compare({"a": {"q_x": 0.3}}), InputError, ["results", "optics"]),
    ("xtrack-method", lambda: optics.twiss_xtrack(None, method="5d"), InputError, ["method", "'4d'"]),
    ("matrices-step-zero", lambda: optics.twiss_matrices(_CELL, max_step_m=0.0), InputError,
     ["max_step_m", "> 0"]),
    ("matrices-step-nan", lambda: optics.twiss_matrices(_CELL, max_step_m=np.nan), InputError,
     ["max_step_m", "nan"]),
    ("matrices-delta-step-zero", lambda: optics.twiss_matrices(_CELL, delta_step=0.0), InputError,
     ["delta_step", "> 0"]),
    ("matrices-not-lattice", lambda: optics.twiss_matrices("fodo"), InputError, ["lattice", "'fodo'"]),
    ("matrices-thin-string", lambda: optics.twiss_matrices(_CELL, thin="yes"), InputError,
     ["thin", "true or false"]),
    # Stable on momentum (Q = 0.4716 per cell) but not at delta = -0.01, the chromaticity step.
    ("matrices-unstable-at-delta-step",
     lambda: optics.twiss_matrices(lattices.fodo_cell(20.0, 5.02), delta_step=1e-2),
     UnstableLatticeError, ["x plane", "delta = -0.01", "chromaticity step"]),
    # f = 3 m < L/4 = 5 m: trace = 2 - L^2/(4 f^2) ... = -9.11 (thin FODO); xtrack says "Invalid n1".
    ("xtrack-unstable", lambda: optics.twiss_xtrack(_unstable_line()), UnstableLatticeError,
     ["x plane", "9.111", "invalid n1"]),
    # A NaN knob: xtrack raised an empty ClosedOrbitSearchError.
    ("xtrack-nan-knob", lambda: optics.twiss_xtrack(_nan_knob_line()), InputError, ["line", "k1l_f", "nan"]),
    ("xtrack-step-zero", lambda: optics.twiss_xtrack(None, max_step_m=0.0), InputError,
     ["max_step_m", "> 0"]),
    ("xtrack-not-line", lambda: optics.twiss_xtrack(_CELL), InputError, ["line", "xtrack.line"]),
    ("three-ways-not-lattice", lambda: optics.twiss_three_ways(None), InputError, ["lattice", "none"]),
    ("compare-unknown-key", lambda: optics.compare({"a": _optics()}, keys=("q_x", "qx")), InputError,
     ["keys", "'qx'", "q_x"]),
    ("madx-not-session", lambda: optics.twiss_madx(_CELL), InputError, ["mad", "madxsession"]),
    ("madx-step-negative", lambda: optics.twiss_madx(None, max_step_m=-0.5), InputError,
     ["max_step_m", "> 0"]),
    # issue 16: MAD-X only says "TWISS failed"; the error gives the trace of MAD-X's one-turn matrix,
    # -9.111 = 2 - L^2/(4 f^2) for the thin-lens FODO cell with f = 3 m < L/4.
    ("madx-unstable", lambda: _madx_twiss(lattices.fodo_cell(20.0, 3.0)), UnstableLatticeError,
     ["x plane", "9.111", "twiss failed", "focal length"]),
    ("madx-unstable-chrom", lambda: _madx_twiss(lattices.fodo_cell(20.0, 3.0), chrom=True),
     UnstableLatticeError, ["x plane", "9.111", "twiss failed"]),
]


def _madx_twiss(cell, **kw):
    with madx.session() as mad:
        mad.load(cell)
        optics.twiss_madx(mad, **kw)


@functools.cache
def _unstable_line():
    return lattices.fodo_cell(20.0, 3.0).to_xtrack()


def _nan_knob_line():
    line = lattices.fodo_cell(20.0, 8.0).to_xtrack()
    line.vars["k1l_f"] = float("nan")
    return line


@functools.cache
def _optics():
    return optics.twiss_matrices(_CELL)
