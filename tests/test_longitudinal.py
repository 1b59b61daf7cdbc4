"""beamkit.longitudinal: momentum compaction, transition gamma and the slip factor."""

import math

import numpy as np
import pytest

from beamkit import lattices, longitudinal
from beamkit import reference_values as ref
from beamkit.errors import InputError


def test_momentum_compaction_of_bend_only_ring_is_one():
    # alpha_c = (1/C) integral D/rho ds with D = rho everywhere gives exactly 1.
    rho, theta = 10.0, 0.3
    cell = lattices.Lattice(
        "ring", rho * theta,
        (lattices.Magnet("b", "sbend", rho * theta / 2, rho * theta, {"angle": theta}),),
        {}, "proton", 1e10)
    assert math.isclose(longitudinal.momentum_compaction_from_matrices(cell), 1.0, rel_tol=1e-12)


def test_momentum_compaction_of_lhc_cell_matches_lecture(lhc_cell):
    # MAD-X's alfa printed in the lecture (10 digits); the matrices integrate D/rho in
    # closed form, so only the printed rounding and platform differences remain.
    alpha_c = longitudinal.momentum_compaction_from_matrices(lhc_cell)
    assert math.isclose(alpha_c, ref.LHC_CELL_ALPHA_C, rel_tol=ref.LECTURE_PRINTED_RTOL)
    assert math.isclose(longitudinal.transition_gamma(alpha_c), ref.LHC_CELL_GAMMA_TR,
                        rel_tol=ref.LECTURE_PRINTED_RTOL)


def test_transition_gamma_without_transition_is_nan():
    assert math.isnan(longitudinal.transition_gamma(-1e-3))
    assert longitudinal.transition_gamma(1e-2) == pytest.approx(10.0, rel=1e-15)


def _period_slip_from_kinematics(alpha_c, gamma0, delta=1e-6):
    """(dT/T)/delta from exact relativistic kinematics: T = C (1 + alpha_c delta) / (beta c)."""
    p0 = math.sqrt(gamma0**2 - 1.0)  # in units of m c

    def period(d):
        p = p0 * (1.0 + d)
        beta = p / math.sqrt(1.0 + p * p)
        return (1.0 + alpha_c * d) / beta

    return (period(delta) - period(-delta)) / (2 * delta * period(0.0))


@pytest.mark.parametrize("gamma0", [1.05, 3.0, 47.73351305, 480.0, 7460.5])
def test_slip_factor_against_revolution_period(gamma0):
    # Closed form eta = alpha_c - 1/gamma^2 against the period of a particle whose path
    # is C (1 + alpha_c delta) and speed follows p(1 + delta). The central difference
    # with delta = 1e-6 has truncation error O(delta^2) ~ 1e-12 and rounding ~1e-10.
    alpha_c = ref.LHC_CELL_ALPHA_C
    eta = longitudinal.slip_factor(alpha_c, gamma0)
    assert abs(eta - _period_slip_from_kinematics(alpha_c, gamma0)) < 1e-9


def test_slip_factor_changes_sign_at_transition():
    alpha_c = ref.LHC_CELL_ALPHA_C
    gamma_tr = longitudinal.transition_gamma(alpha_c)
    eta = longitudinal.slip_factor(alpha_c, np.array([0.9, 1.0, 1.1]) * gamma_tr)
    assert eta.shape == (3,)
    assert eta[0] < 0 < eta[2]
    assert abs(eta[1]) < 1e-18   # alpha_c - alpha_c: rounding of a 4e-4 number


def test_slip_factor_rejects_speeds_and_energies():
    with pytest.raises(InputError, match="gamma0"):
        longitudinal.slip_factor(4e-4, 0.5)
