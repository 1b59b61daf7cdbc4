"""Bad-input rows for beamkit.plotting."""

from beamkit import plotting
from beamkit.errors import InputError

CASES = [
    ("ellipse-beta-negative", lambda: plotting.twiss_ellipse(-1.0, 0.0, 1e-6), InputError, ["beta_m", "> 0"]),
    ("ellipse-eps-negative", lambda: plotting.twiss_ellipse(1.0, 0.0, -1e-6), InputError,
     ["eps_m", ">= 0"]),
    ("ellipse-points", lambda: plotting.twiss_ellipse(1.0, 0.0, 1e-6, n_points=2), InputError,
     ["n_points", ">= 3"]),
    ("phase-space-unit", lambda: plotting.plot_phase_space([0.0], [0.0], px_unit="deg"), InputError,
     ["px_unit", "'mrad'"]),
]
