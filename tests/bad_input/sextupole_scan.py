"""Bad-input rows for beamkit.sextupole_scan."""

import numpy as np

from beamkit import sextupole_scan as ss
from beamkit.errors import InputError

RING = ss.fodo_ring(sigma_x_m=1.4e-3)
D = np.linspace(-10.0, 10.0, 11)
Z = np.zeros(11)

CASES = [
    ("ring-cells", lambda: ss.fodo_ring(n_cells=2), InputError, ["n_cells", ">= 4"]),
    ("ring-sextupoles", lambda: ss.fodo_ring(sextupoles="some"), InputError, ["sextupoles", "'all'"]),
    ("ring-k2l-count", lambda: ss.fodo_ring(k2l=[1.0, 2.0]), InputError, ["k2l", "one per sextupole"]),
    ("ring-sigma-negative", lambda: ss.fodo_ring(sigma_x_m=-1e-3), InputError, ["sigma_x_m", ">= 0"]),
    ("orbit-not-ring", lambda: ss.closed_orbit("ring"), InputError, ["ring", "fodo_ring"]),
    ("orbit-index", lambda: ss.closed_orbit(RING, 3), InputError, ["sextupole", "<= 0"]),
    ("scan-method", lambda: ss.simulate_scan(RING, method="magic"), InputError, ["method", "'tracking'"]),
    ("scan-noise-key", lambda: ss.simulate_scan(RING, noise={"tune": 1e-5}), InputError,
     ["noise", "unknown", "q, a1_per_m"]),
    ("scan-noise-without-rng", lambda: ss.simulate_scan(RING, noise={"q": 1e-5}), InputError,
     ["rng", "default_rng"]),
    ("scan-few-particles", lambda: ss.simulate_scan(RING, method="tracking", rng=np.random.default_rng(0),
                                                    n_particles=100, eps_x_m=1e-7), InputError,
     ["n_particles", ">= 2000"]),
    ("scan-tracking-6d", lambda: ss.simulate_scan(RING, method="tracking", six_d=True,
                                                  rng=np.random.default_rng(0), eps_x_m=1e-7), InputError,
     ["six_d", "4D"]),
    ("scan-dk2l-short", lambda: ss.simulate_scan(RING, dk2l=[1.0, 2.0]), InputError, ["dk2l", "at least 3"]),
    ("rec-shapes", lambda: ss.reconstruct(D, Z[:10], Z, Z), InputError, ["dk1l", "(10,)", "(11,)"]),
    ("rec-nan", lambda: ss.reconstruct(D, Z, Z, np.full(11, np.nan)), InputError, ["dpx", "nan"]),
    ("rec-feed-down-needs-orbit", lambda: ss.reconstruct(D, Z, Z, Z, k2l0=3.0), InputError,
     ["dx_m", "k2l0", "orbit"]),
    ("rec-few-settings", lambda: ss.reconstruct(np.repeat([1.0, 2.0, 3.0], 3), np.zeros(9), np.zeros(9),
                                                np.zeros(9), degree=3), InputError, ["dk2l", "distinct"]),
    ("tunes-beta", lambda: ss.quadrupole_term_from_tunes(1e-3, 1e-3, -1.0, 5.0), InputError,
     ["beta_x_m", "> 0"]),
    ("response-integer-tune", lambda: ss.orbit_response_m_per_rad(10.0, 2.0), InputError,
     ["q_x", "integer resonance"]),
    ("response-alpha-without-c", lambda: ss.orbit_response_m_per_rad(10.0, 0.3, 1.0, 1e-3), InputError,
     ["circumference_m", "alpha_c"]),
    ("calibrate-zero", lambda: ss.calibrate(RING, dk2l=0.0), InputError, ["dk2l", "not be 0"]),
    ("calibrate-two-bumps", lambda: ss.calibrate(RING, bumps_m=[0.0, 1e-3]), InputError, ["bumps_m"]),
    ("survey-executor", lambda: ss.survey(RING, executor="pool"), InputError, ["executor", "Executor"]),
    ("survey-repeats", lambda: ss.survey(RING, n_repeats=0), InputError, ["n_repeats", ">= 1"]),
    ("design-optics-index", lambda: ss.design_optics(RING, 1), InputError, ["sextupole", "<= 0"]),
    ("ring-change-length", lambda: RING.with_changes(shift_x_m=[0.0, 1e-3]), InputError,
     ["shift_x_m", "one value per sextupole"]),
    ("ring-change-calibration", lambda: RING.with_changes(calibration=[-1.0]), InputError,
     ["calibration", "> 0"]),
    ("ring-change-unknown", lambda: RING.with_changes(k1l=0.3), InputError, ["k1l", "cannot be changed"]),
]
