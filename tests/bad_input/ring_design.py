"""Bad-input rows for beamkit.ring_design."""

import json

import numpy as np

from beamkit import ring_design as rd
from beamkit.errors import InputError, UnstableLatticeError


def _rot(mu, beta=10.0):
    return np.array([[np.cos(mu), beta * np.sin(mu)], [-np.sin(mu) / beta, np.cos(mu)]])


def _ring6(mu_x=1.0, mu_y=2.0, d=1.0):
    m = np.eye(6)
    m[0:2, 0:2] = _rot(mu_x)
    m[2:4, 2:4] = _rot(mu_y)
    m[4, 5] = -5.0
    return m


_STABLE = _ring6()
_SHEARED = _ring6()
_SHEARED[0, 0] *= 1.01  # det of the x block 1.01: not symplectic
_UNSTABLE = np.array([[1.5, 3.0], [0.2, 1.0 / 1.5 + 0.4]])  # det 1, trace 2.57
_UNSTABLE[1, 1] = (1 + 3.0 * 0.2) / 1.5
_COUPLED = np.eye(4)
_COUPLED[0:2, 0:2] = _rot(1.0)
_COUPLED[2:4, 2:4] = _rot(2.0)
_TILT = np.block([[np.cos(0.2) * np.eye(2), np.sin(0.2) * np.eye(2)],
                  [-np.sin(0.2) * np.eye(2), np.cos(0.2) * np.eye(2)]])  # a symplectic x-y rotation
_COUPLED = _TILT @ _COUPLED @ _TILT.T
_RF = _ring6()
_RF[5, 4] = 1e-3


class _FakeLine:
    """Passes the type check; the call must fail on its arguments before tracking."""

    particle_ref = object()

    def track(self, *args, **kwargs):
        raise AssertionError("must not be reached")

    def build_particles(self, *args, **kwargs):
        raise AssertionError("must not be reached")


def _not_a_line():
    return object()


def _fails_and_leaves_line(call):
    """Run a failing call on a real line and check the line was not touched (then re-raise)."""
    def run():
        ring = rd.fodo_ring(4, 40.0, 0.3, -0.3, gamma0=2.0)
        line = rd.xtrack_line(ring)
        before = json.dumps(line.to_dict(), sort_keys=True, default=str)
        try:
            call(line)
        finally:
            assert line.tracker is None, "the caller's line got a tracker"
            assert json.dumps(line.to_dict(), sort_keys=True, default=str) == before
    return run


CASES = [
    ("matrix-wrong-shape", lambda: rd.ring_from_matrix(np.eye(5)), InputError,
     ["m", "shape (5, 5)", "square"]),
    ("matrix-not-square", lambda: rd.ring_from_matrix(np.eye(6)[:4]), InputError, ["m", "(4, 6)"]),
    ("matrix-1d", lambda: rd.ring_from_matrix(np.ones(4)), InputError, ["m", "dimension"]),
    ("matrix-nan", lambda: rd.ring_from_matrix(np.full((2, 2), np.nan)), InputError, ["m", "nan"]),
    ("matrix-non-symplectic", lambda: rd.ring_from_matrix(_SHEARED, 100.0, 0.8), InputError,
     ["m", "not symplectic"]),
    ("matrix-non-symplectic-2x2", lambda: rd.ring_from_matrix(2 * np.eye(2)), InputError, ["symplectic"]),
    ("matrix-unstable", lambda: rd.ring_from_matrix(_UNSTABLE), UnstableLatticeError,
     ["unstable", "x plane"]),
    ("matrix-coupled", lambda: rd.ring_from_matrix(_COUPLED), InputError, ["m", "couples"]),
    ("matrix-rf", lambda: rd.ring_from_matrix(_RF, 100.0, 0.8), InputError, ["m", "rf"]),
    ("missing-beta0-for-eta", lambda: rd.ring_from_matrix(_STABLE, 100.0), InputError,
     ["beta0", "none", "eta"]),
    ("missing-circumference", lambda: rd.ring_from_matrix(_STABLE, beta0=0.8), InputError,
     ["circumference_m", "6x6"]),
    ("beta0-is-gamma", lambda: rd.ring_from_matrix(_STABLE, 100.0, 1.67), InputError, ["beta0", "< 1"]),
    ("negative-circumference", lambda: rd.ring_from_matrix(_STABLE, -100.0, 0.8), InputError,
     ["circumference_m", "> 0"]),
    ("coordinates", lambda: rd.ring_from_matrix(_STABLE, 100.0, 0.8, "gicosy"), InputError,
     ["coordinates", "'transport'"]),
    ("convert-bad-from", lambda: rd.convert_matrix(_STABLE, "ptc", "xtrack", 0.8, 100.0), InputError,
     ["from_coordinates", "'madx'"]),
    ("convert-no-beta0", lambda: rd.convert_matrix(_STABLE, "transport", "xtrack", None, 100.0), InputError,
     ["beta0"]),
    ("convert-4x4", lambda: rd.convert_matrix(np.eye(4), "transport", "xtrack", 0.8, 100.0), InputError,
     ["m", "6"]),
    ("follow-empty", lambda: rd.follow_phase([]), InputError, ["matrices", "empty"]),
    ("follow-mixed-sizes", lambda: rd.follow_phase([np.eye(2), np.eye(3)]), InputError,
     ["matrices[1]", "shape"]),
    ("follow-plane", lambda: rd.follow_phase([_rot(1.0)], plane="z"), InputError, ["plane", "'x'"]),
    ("follow-unstable", lambda: rd.follow_phase([_UNSTABLE]), UnstableLatticeError, ["unstable"]),
    ("chrom-negative-delta", lambda: rd.chromaticity(_rot(1.0), _rot(1.01), -1e-4), InputError,
     ["delta", "> 0"]),
    ("chrom-shapes", lambda: rd.chromaticity(np.eye(4), _rot(1.0), 1e-4), InputError, ["m_plus", "(2, 2)"]),
    ("chrom-method", lambda: rd.chromaticity(_rot(1.0), _rot(1.01), 1e-4, method="asin"), InputError,
     ["method", "'chromatic_terms'"]),
    ("tof-not-a-line", lambda: rd.time_of_flight(_not_a_line(), np.linspace(-1e-3, 1e-3, 7)), InputError,
     ["line", "xtrack"]),
    ("closed-orbits-not-a-line", lambda: rd.closed_orbits("ring", [0.0]), InputError, ["line", "xtrack"]),
    ("tof-too-few-deltas", lambda: rd.time_of_flight(_FakeLine(), [0.0, 1e-3]), InputError,
     ["deltas", "at least 6"]),
    ("slip-gamma-below-one", lambda: rd.slip_from_momentum_compaction(0.3, 0.1, 0.9), InputError,
     ["gamma0", ">= 1"]),
    ("ring-too-few-cells", lambda: rd.fodo_ring(2, 100.0, 0.1, -0.1, gamma0=2.0), InputError,
     ["n_cells", ">= 3"]),
    ("ring-too-short", lambda: rd.fodo_ring(40, 30.0, 0.1, -0.1, gamma0=2.0), InputError,
     ["circumference_m", "no room"]),
    ("ring-particle", lambda: rd.fodo_ring(8, 100.0, 0.1, -0.1, gamma0=2.0, particle="muon"), InputError,
     ["particle", "'proton'"]),
    ("knob-no-sign-change", lambda: rd.tune_knob(lambda k: k * k + 1, (-1.0, 1.0), name="k1l"), InputError,
     ["bracket", "k1l", "widen"]),
    ("knob-not-callable", lambda: rd.tune_knob(3.0, (0.0, 1.0)), InputError, ["objective", "callable"]),
    ("tof-fit-order-too-high-line-untouched",
     _fails_and_leaves_line(lambda line: rd.time_of_flight(line, np.linspace(-1e-3, 1e-3, 11), fit_order=7)),
     InputError, ["fit_order", "<= 6"]),
    ("closed-orbits-nan-delta-line-untouched",
     _fails_and_leaves_line(lambda line: rd.closed_orbits(line, [0.0, np.nan])), InputError,
     ["deltas", "nan"]),
    ("tof-duplicate-deltas-line-untouched",
     _fails_and_leaves_line(lambda line: rd.time_of_flight(line, [0.0, 0.0, 1e-3, 1e-3, 2e-3, 2e-3, 3e-3,
                                                                  3e-3])),
     InputError, ["deltas", "distinct"]),
    ("slip-series-empty", lambda: rd.slip_series([], 1.67), InputError, ["alphas"]),
    ("slip-series-gamma-one", lambda: rd.slip_series([0.3], 1.0), InputError, ["gamma0", "> 1"]),
    ("xtrack-line-not-lattice", lambda: rd.xtrack_line("ring"), InputError, ["lattice"]),
    ("xtrack-line-zero-kicks", lambda: rd.xtrack_line(rd.fodo_ring(4, 40.0, 0.3, -0.3, gamma0=2.0), 0),
     InputError, ["num_multipole_kicks", ">= 1"]),
    ("lattice-6d-not-lattice", lambda: rd.lattice_matrix_6d(np.eye(6)), InputError, ["lattice", "lattice"]),
]
