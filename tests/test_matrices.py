"""Transfer matrices and periodic Twiss against closed forms."""

import math

import numpy as np
import pytest

from beamkit import UnstableLatticeError, lattices, optics
from beamkit import matrices as mx

S = np.array([[0.0, 1.0], [-1.0, 0.0]])


def _generator(kind, strength, plane, delta):
    """Hill's equation as a first-order system z' = A z, z = (x, x', delta)."""
    a = np.zeros((3, 3))
    a[0, 1] = 1.0
    if kind == "quad":
        k = strength / (1 + delta)
        a[1, 0] = -k if plane == "x" else k
    elif kind == "bend" and plane == "x":
        h = strength
        a[1, 0] = -h * h / (1 + delta)
        a[1, 2] = h  # the driving term of D'' + K D = h
    return a


def _integrated_map(a, length_m):
    """Transfer matrix by integrating z' = A z column by column (scipy's DOP853, rtol 1e-13)."""
    from scipy.integrate import solve_ivp

    cols = [solve_ivp(lambda s, z: a @ z, (0.0, length_m), e, method="DOP853", rtol=1e-13,
                      atol=1e-15).y[:, -1] for e in np.eye(3)]
    return np.array(cols).T


CASES = [("quad", 0.3, 1.2), ("quad", -0.3, 1.2), ("quad", 2.0, 0.7), ("bend", 0.2 / 3.0, 3.0)]


@pytest.mark.parametrize("plane", ["x", "y"])
@pytest.mark.parametrize("delta", [0.0, -2e-3])
@pytest.mark.parametrize("kind, strength, length_m", CASES)
def test_analytic_matrices_equal_integrated_flow(kind, strength, length_m, plane, delta):
    # An independent route to every matrix: integrate Hill's equation numerically. The
    # analytic 2x2 blocks have det = 1 by construction (cos^2 + sin^2), so a symplecticity
    # test of them cannot fail; the integrated map is not symplectic by construction (DOP853
    # is not a symplectic scheme), so checking it checks the physics of the flow, and the
    # analytic matrix must equal it. Tolerance: DOP853 at rtol 1e-13 over < 1 betatron
    # radian, 1e-11.
    if kind == "quad":
        analytic = mx.quadrupole(strength, length_m, plane, delta=delta)
    else:
        analytic = mx.sector_bend(strength * length_m, length_m, plane, delta=delta)
    flow = _integrated_map(_generator(kind, strength, plane, delta), length_m)
    assert np.allclose(analytic, flow, atol=1e-11, rtol=0)
    assert mx.is_symplectic(flow, atol=1e-11)


def test_symplecticity_check_can_fail():
    # A map from a non-symplectic scheme (explicit Euler, 50 steps) through a quadrupole:
    # det = (1 + k ds^2)^50 = 1 + 0.02 for k = 0.3, ds = 0.024 m, and is_symplectic says so.
    a = _generator("quad", 0.3, "x", 0.0)[:2, :2]
    step = np.eye(2) + a * (1.2 / 50)
    euler = np.linalg.matrix_power(step, 50)
    assert abs(np.linalg.det(euler) - (1 + 0.3 * (1.2 / 50) ** 2) ** 50) < 1e-14
    assert not mx.is_symplectic(euler, atol=1e-3)


def test_product_is_symplectic_and_in_beam_order():
    a, b = mx.drift(1.0), mx.thin_quadrupole(0.5)
    assert np.allclose(mx.line_matrix([a, b]), b @ a)
    m = mx.line_matrix([mx.quadrupole(0.2, 1.0), mx.drift(3.0), mx.sector_bend(0.1, 2.0)])
    assert mx.is_symplectic(m)


@pytest.mark.parametrize("plane", ["x", "y"])
@pytest.mark.parametrize("length", [1.0, 0.1, 1e-2, 1e-3, 1e-4])
def test_thick_quadrupole_tends_to_thin_lens(plane, length):
    # Thick quad with k1 = kl/l against drift(l/2) kick(kl) drift(l/2), f = 1/kl = 20 m (the
    # FODO chapter's). The Taylor series of cos, sin (cosh, sinh) give, to leading order,
    # thick - thin = +-l^2/(12 f) in M12 (m; + in the focusing plane, - in the defocusing
    # one), +l/(6 f^2) in M21 (1/m) and +l^2/(24 f^2) in M11 = M22, in both planes
    # (issue 9, point 5). The next terms are smaller by
    # k1 l^2 = l/f <= 0.05: 6 % tolerance. Which entry is largest depends on l f against
    # 2 m^2: M21 for l f < 2 m^2 (l <= 1e-2 m here), M12 above; at l = 0.1 m (l f = 2 m^2)
    # the two leading terms are equal (4.2e-5) and the next order decides.
    kl = 0.05
    f = 1 / kl
    sign = 1.0 if plane == "x" else -1.0
    thick = mx.quadrupole(kl / length, length, plane)
    thin = mx.line_matrix([mx.drift(length / 2), mx.thin_quadrupole(kl, plane), mx.drift(length / 2)])
    diff = (thick - thin)[:2, :2]
    assert math.isclose(diff[0, 1], sign * length**2 / (12 * f), rel_tol=0.06)
    assert math.isclose(diff[1, 0], length / (6 * f**2), rel_tol=0.06)
    assert math.isclose(diff[0, 0], length**2 / (24 * f**2), rel_tol=0.06)
    assert math.isclose(diff[1, 1], diff[0, 0], rel_tol=1e-6)
    if length != 0.1:
        largest = np.unravel_index(np.argmax(np.abs(diff)), diff.shape)
        assert largest == ((0, 1) if length * f > 2 else (1, 0))
    assert np.isclose(thick[1, 0], -sign * kl, rtol=kl * length)


def test_bend_tends_to_thin_kick_and_drift():
    # A bend of vanishing angle is a drift; its dispersion terms tend to those of a thin
    # kick theta at the centre: M13 = L theta / 2, M23 = theta (up to O(theta^3)).
    theta, length = 1e-4, 2.0
    m = mx.sector_bend(theta, length)
    assert np.allclose(m[:2, :2], mx.drift(length)[:2, :2], atol=theta**2)
    assert math.isclose(m[0, 2], length * theta / 2, rel_tol=theta)
    assert math.isclose(m[1, 2], theta, rel_tol=theta**2)
    assert np.array_equal(mx.sector_bend(theta, length, "y"), mx.drift(length))


def test_sector_bend_ring_closed_form():
    # A ring made only of sector bends (weak focusing, field index 0): x'' + x/rho^2 = delta/rho.
    # Closed form: beta = rho, alpha = 0, D = rho, D' = 0 and phase advance = bend angle.
    rho, theta = 10.0, 0.3
    tw = mx.periodic_twiss(mx.sector_bend(theta, rho * theta))
    assert math.isclose(tw.beta_m, rho, rel_tol=1e-12)
    assert abs(tw.alpha) < 1e-12
    assert math.isclose(tw.dispersion_m, rho, rel_tol=1e-12)
    assert abs(tw.dispersion_prime) < 1e-12
    assert math.isclose(tw.q, theta / (2 * math.pi), rel_tol=1e-12)


@pytest.mark.parametrize("length_m, focal_m", [(110.0, 40.0), (10.0, 3.0), (20.0, 50.0)])
def test_periodic_twiss_thin_fodo_closed_form(length_m, focal_m):
    # Thin FODO of length L, quads +f and -f L/2 apart: sin(mu/2) = L/(4f) and
    # beta_max,min = L (1 +- sin(mu/2)) / sin(mu) at QF and QD (Wille 2000, sec. 3.13).
    cell = lattices.fodo_cell(length_m, focal_m)
    half = math.asin(length_m / (4 * focal_m))
    mu = 2 * half
    beta_max = length_m * (1 + math.sin(half)) / math.sin(mu)
    beta_min = length_m * (1 - math.sin(half)) / math.sin(mu)
    tx = mx.periodic_twiss(cell.one_turn_matrix("x"))
    ty = mx.periodic_twiss(cell.one_turn_matrix("y"))
    # Rounding only: a handful of 3x3 products of O(1) numbers.
    assert math.isclose(tx.beta_m, beta_max, rel_tol=1e-12)
    assert math.isclose(ty.beta_m, beta_min, rel_tol=1e-12)
    assert math.isclose(tx.q, mu / (2 * math.pi), rel_tol=1e-12)
    assert abs(tx.alpha) < 1e-12
    table = optics.twiss_matrices(cell).table
    at_qd = table[np.isclose(table.s_m, length_m / 2)]
    assert np.allclose(at_qd.beta_x_m, beta_min, rtol=1e-12)


def test_periodic_twiss_2x2_and_propagation_closes():
    cell = lattices.lhc_fodo_cell()
    slices = cell.transfer_matrices("x", max_step_m=1.0)
    start = mx.periodic_twiss(mx.line_matrix(sl.matrix for sl in slices))
    along = mx.propagate_twiss([sl.matrix for sl in slices], start)
    # Periodicity: carrying the periodic solution once round returns it (rounding only).
    assert math.isclose(along.beta_m[-1], start.beta_m, rel_tol=1e-10)
    assert math.isclose(along.dispersion_m[-1], start.dispersion_m, rel_tol=1e-10)
    assert math.isclose(along.mu_rad[-1], start.mu_rad, rel_tol=1e-10)
    two = mx.periodic_twiss(mx.line_matrix(sl.matrix for sl in slices)[:2, :2])
    assert math.isclose(two.beta_m, start.beta_m, rel_tol=1e-14)
    assert math.isnan(two.dispersion_m)


def test_unstable_cell_raises_named_error():
    # Thin FODO: trace = 2 cos(mu) = 2 - L^2/(4 f^2), stable only for f > L/4.
    # L = 10 m, f = 2 m gives trace = 2 - 100/16 = -4.25.
    cell = lattices.fodo_cell(10.0, 2.0)
    with pytest.raises(UnstableLatticeError, match=r"\|trace\(M\)\| = 4.25") as info:
        mx.periodic_twiss(cell.one_turn_matrix("x"), "x")
    assert isinstance(info.value, ValueError)
    assert math.isclose(info.value.trace, -4.25, rel_tol=1e-12)
    with pytest.raises(UnstableLatticeError):
        optics.twiss_matrices(cell)


def test_bad_matrix_inputs():
    with pytest.raises(ValueError, match="2x2 or 3x3"):
        mx.periodic_twiss(np.eye(4))
    with pytest.raises(ValueError, match="NaN"):
        mx.periodic_twiss(np.full((2, 2), np.nan))
    with pytest.raises(ValueError, match="plane"):
        mx.quadrupole(0.1, 1.0, plane="z")


@pytest.mark.parametrize("f_f_m, f_d_m, length_m", [(8.0, 8.0, 20.0), (0.5, 2.0, 1.0), (3.0, 0.4, 1.0)])
def test_thin_fodo_traces_closed_form(f_f_m, f_d_m, length_m):
    # Multiplying D Q_D D Q_F out (the trace is cyclic): tr = 2 - 2 d (a + b) + a b d^2 with
    # d = L/2, a, b the kicks 1/f of QD and QF with their signs in each plane. Rounding only.
    trace_x, trace_y = mx.thin_fodo_traces(f_f_m, f_d_m, length_m)
    product = length_m**2 / (4 * f_f_m * f_d_m)
    assert math.isclose(trace_x, 2 - length_m * (1 / f_f_m - 1 / f_d_m) - product,
                        rel_tol=1e-13, abs_tol=1e-13)
    assert math.isclose(trace_y, 2 - length_m * (1 / f_d_m - 1 / f_f_m) - product,
                        rel_tol=1e-13, abs_tol=1e-13)
