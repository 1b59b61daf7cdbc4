"""Bad-input rows for beamkit.chromaticity."""

import functools

import numpy as np

from beamkit import chromaticity as ch
from beamkit import lattices, madx
from beamkit.errors import ConvergenceError, IllConditionedError, InputError, UnstableLatticeError

CASES = [
    ("thin-formula-unstable", lambda: ch.fodo_thin_lens_chromaticity(0.5), InputError, ["q", "0.5"]),
    ("thin-formula-negative", lambda: ch.fodo_thin_lens_chromaticity(-0.1), InputError, ["q", "> 0"]),
    ("response-shape", lambda: ch.sextupole_thin_lens_response([10.0, 20.0], [10.0], [1.0, 1.0], 1.0),
     InputError, ["beta_y_m", "shape"]),
    ("response-beta-negative", lambda: ch.sextupole_thin_lens_response([-1.0], [10.0], [1.0], 1.0),
     InputError, ["beta_x_m", "> 0"]),
    ("fit-order", lambda: ch.fit_chromaticity(np.linspace(-1e-3, 1e-3, 5), np.ones(5), order=0),
     InputError, ["order", ">= 1"]),
    ("fit-plane", lambda: ch.fit_chromaticity(np.linspace(-1e-3, 1e-3, 5), np.ones(5), plane="z"),
     InputError, ["plane", "'z'"]),
    ("fit-shapes", lambda: ch.fit_chromaticity(np.linspace(-1e-3, 1e-3, 5), np.ones(4)),
     InputError, ["tunes", "shape"]),
    ("fit-too-few", lambda: ch.fit_chromaticity([0.0, 1e-4], [0.3, 0.31]), InputError,
     ["deltas", "at least 3"]),
    ("fit-degenerate", lambda: ch.fit_chromaticity([1e-4] * 5, [0.3] * 5), IllConditionedError,
     ["deltas", "spread"]),
    ("fit-nan", lambda: ch.fit_chromaticity([0.0, 1e-4, np.nan], [0.3, 0.31, 0.32]), InputError,
     ["deltas", "nan"]),
    ("thin-formula-nan", lambda: ch.fodo_thin_lens_chromaticity(np.nan), InputError, ["q", "nan"]),
    ("match-target-nan", lambda: ch.match_chromaticity(None, dq_x=np.nan), InputError, ["dq_x", "nan"]),
    ("match-target-inf", lambda: ch.match_chromaticity(None, dq_x=1.0, dq_y=-np.inf), InputError,
     ["dq_y", "finite"]),
    ("match-no-target", lambda: ch.match_chromaticity(None), InputError, ["dq_x", "at least one target"]),
    ("match-tolerance-zero", lambda: ch.match_chromaticity(None, dq_x=1.0, tolerance=0.0), InputError,
     ["tolerance", "> 0"]),
    ("match-step-nan", lambda: ch.match_chromaticity(None, dq_x=1.0, step=np.nan), InputError,
     ["step", "nan"]),
    ("match-too-many-targets", lambda: ch.match_chromaticity(None, dq_x=1.0, dq_y=1.0, knobs="k2sext1"),
     InputError, ["knobs", "2 targets"]),
    ("match-engine-not-engine", lambda: ch.match_chromaticity(object(), dq_x=1.0), InputError,
     ["engine", "madxsession", "xtrack.line"]),
    ("match-knob-misspelt", lambda: ch.match_chromaticity(_line(), dq_x=1.0, dq_y=1.0,
                                                          knobs=("k2sext1", "k2sextt2")),
     InputError, ["knobs", "k2sextt2", "not variables"]),
    ("match-knobs-empty", lambda: ch.match_chromaticity(_line(), dq_x=1.0, knobs=()), InputError,
     ["knobs", "1 targets need"]),
    ("response-knob-misspelt", lambda: ch.chromaticity_response(_line(), ["k2sext3"]), InputError,
     ["knobs", "k2sext3"]),
    ("response-step-zero", lambda: ch.chromaticity_response(_line(), ["k2sext1"], step=0.0), InputError,
     ["step", "> 0"]),
    ("optics-not-element", lambda: ch.sextupole_optics(_line(), ["sext3"]), InputError,
     ["names", "sext3", "not elements"]),
    ("optics-name-string", lambda: ch.sextupole_optics(_line(), "sext3"), InputError, ["names", "'sext3'"]),
    ("optics-not-line", lambda: ch.sextupole_optics(None, ["sext1"]), InputError, ["line", "xtrack.line"]),
    ("response-not-line", lambda: ch.chromaticity_response(lattices.lhc_fodo_cell(), ["theta"]), InputError,
     ["line", "xtrack.line"]),
    ("tracking-not-line", lambda: ch.chromaticity_from_tracking(lattices.lhc_fodo_cell(), [0.0]), InputError,
     ["line", "xtrack.line"]),
    ("tracking-delta-minus-one", lambda: ch.chromaticity_from_tracking(_line(), [-1.0, 0.0, 1e-3]),
     InputError, ["deltas", "> -1"]),
    ("tracking-turns-fraction", lambda: ch.chromaticity_from_tracking(_line(), [0.0], n_turns=100.5),
     InputError, ["n_turns", "integer"]),
    ("tune-at-absent-delta", lambda: ch.fit_chromaticity([-1e-3, 0.0, 1e-3], [0.3, 0.31, 0.32]).tune_at(5e-4),
     InputError, ["delta", "0 particles"]),
    ("tune-at-nan", lambda: ch.fit_chromaticity([-1e-3, 0.0, 1e-3], [0.3, 0.31, 0.32]).tune_at(np.nan),
     InputError, ["delta", "nan"]),
    # issue 16: MAD-X's "TWISS failed" named. f = 3 m < L/4 = 5 m: thin-lens trace 2 - L^2/(4 f^2) = -9.111.
    ("match-madx-unstable-lattice", lambda: _madx_match(lattices.fodo_cell(20.0, 3.0), knobs=("k1l_f",)),
     UnstableLatticeError, ["x plane", "9.111", "twiss failed", "focal length"]),
    # k1l_f driven by the match until the cell is unstable: the match fails, not the lattice given.
    ("match-madx-driven-unstable",
     lambda: _madx_match(lattices.lhc_fodo_cell(sextupoles=True), knobs=("k1l_f",)), ConvergenceError,
     ["twiss failed", "unstable", "put back"]),
]


def _madx_match(cell, knobs):
    with madx.session() as mad:
        mad.load(cell)
        ch.match_chromaticity(mad, dq_x=5.0, knobs=knobs)


@functools.cache
def _line():
    """The LHC-like cell with sextupoles in xtrack (none of the rows above changes it)."""
    return lattices.lhc_fodo_cell(sextupoles=True).to_xtrack()
