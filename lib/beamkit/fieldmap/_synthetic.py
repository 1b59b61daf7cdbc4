"""A Maxwell-consistent synthetic map of a combined-function bending magnet."""

from __future__ import annotations

from math import comb, factorial

import numpy as np

from .. import _validate as v
from ..errors import InputError
from ._map import FieldMap

__all__ = ["PS_LIKE", "enge", "synthetic_combined_function_magnet"]

#: Defaults of :func:`synthetic_combined_function_magnet`: a PS-like focusing half-unit at
#: 2 GeV kinetic energy (p = 2.784 GeV/c, B rho = 9.287 T m): bending angle 2 pi / 200 over
#: 2.2 m. The gradient, sextupole, octupole, remanent field and currents are illustrative
#: values of the right size, not measured PS data.
PS_LIKE = {
    "nominal_current_a": 400.0,
    "b0_t": 0.13262,
    "gradient_t_per_m": 0.5,
    "sextupole_t_per_m2": 2.0,
    "octupole_t_per_m3": 5.0,
    "remanent": (1.0e-3, 0.0, 0.1, 0.0),
    "length_m": 2.2,
    "gap_m": 0.1,
    "enge_coefficients": (0.0, 2.2, 0.0, 0.3),
}


# ---------------------------------------------------------------- truncated Taylor series
# A series is an array a[m, ...] of Taylor coefficients f^(m)/m!, m = 0..order.

def _mul(a, b):
    out = np.zeros_like(a)
    for m in range(a.shape[0]):
        for j in range(m + 1):
            out[m] += a[j] * b[m - j]
    return out


def _exp(s):
    out = np.zeros_like(s)
    out[0] = np.exp(s[0])
    for m in range(1, s.shape[0]):
        out[m] = sum(j * s[j] * out[m - j] for j in range(1, m + 1)) / m
    return out


def _reciprocal(u):
    out = np.zeros_like(u)
    out[0] = 1.0 / u[0]
    for m in range(1, u.shape[0]):
        out[m] = -sum(u[j] * out[m - j] for j in range(1, m + 1)) / u[0]
    return out


def _enge_series(d, scale, coefficients, order):
    """Taylor coefficients in z of E(d) = 1/(1 + exp(P(d))), with dd/dz = scale."""
    p = np.polynomial.Polynomial(coefficients)
    s = np.empty((order + 1, d.size))
    for m in range(order + 1):
        s[m] = p.deriv(m)(d) * scale**m / factorial(m) if m else p(d)
    s[0] = np.minimum(s[0], 700.0)  # exp overflow guard: E is 0 to double precision there
    u = _exp(s)
    u[0] += 1.0
    return _reciprocal(u)


def enge(z, length_m, gap_m, coefficients=PS_LIKE["enge_coefficients"], derivatives=0):
    """Longitudinal profile F(z) of a magnet centred on z = 0, and its derivatives.

    F is the product of an entry and an exit Enge function, E(d) = 1 / (1 + exp(P(d)))
    with P(d) = c0 + c1 d + c2 d^2 + ..., d the distance outside the effective edge
    (at z = +-length_m/2) in units of ``gap_m`` :cite:p:`enge1964`. With an odd polynomial
    P (c0 = c2 = ... = 0), E(d) + E(-d) = 1 and the integral of F equals ``length_m``.

    Parameters
    ----------
    z : array_like
        Longitudinal positions in m.
    length_m, gap_m : float
        Effective (hard-edge) length and full gap in m.
    coefficients : sequence of float
        Enge coefficients c0, c1, ...
    derivatives : int
        Highest derivative wanted.

    Returns
    -------
    numpy.ndarray, shape (derivatives + 1,) + z.shape
        ``F, dF/dz, d2F/dz2, ...`` in 1/m^k.
    """
    z = v.array("z", z, unit="m")
    length_m = v.scalar("length_m", length_m, positive=True, unit="m")
    gap_m = v.scalar("gap_m", gap_m, positive=True, unit="m")
    coefficients = v.array("coefficients", coefficients, ndim=1, min_size=1).tolist()
    derivatives = v.integer("derivatives", derivatives, minimum=0)
    flat = z.ravel()
    half = 0.5 * length_m
    exit_ = _enge_series((flat - half) / gap_m, 1.0 / gap_m, coefficients, derivatives)
    entry = _enge_series((-flat - half) / gap_m, -1.0 / gap_m, coefficients, derivatives)
    series = _mul(entry, exit_)
    fact = np.array([factorial(m) for m in range(derivatives + 1)], dtype=float)
    return (series * fact[:, None]).reshape((derivatives + 1,) + z.shape)


def _poly_derivs(b, x):
    """q(x) = b0 + b1 x + b2 x^2/2 + b3 x^3/6 + ... and its derivatives, list by order."""
    b = list(b)
    out = []
    for d in range(len(b) + 2):
        q = np.zeros_like(x)
        for n in range(d, len(b)):
            q = q + b[n] * x ** (n - d) / factorial(n - d)
        out.append(q)
    return out


def synthetic_combined_function_magnet(
    current_a=None,
    *,
    nominal_current_a=PS_LIKE["nominal_current_a"],
    b0_t=PS_LIKE["b0_t"],
    gradient_t_per_m=PS_LIKE["gradient_t_per_m"],
    sextupole_t_per_m2=PS_LIKE["sextupole_t_per_m2"],
    octupole_t_per_m3=PS_LIKE["octupole_t_per_m3"],
    remanent=PS_LIKE["remanent"],
    length_m=PS_LIKE["length_m"],
    gap_m=PS_LIKE["gap_m"],
    enge_coefficients=PS_LIKE["enge_coefficients"],
    x=None,
    y=None,
    z=None,
    expansion_order=3,
):
    """Field map of a straight combined-function bending magnet, consistent with Maxwell.

    The mid-plane field is ``By(x, 0, z) = F(z) q(x)`` with the Enge profile
    ``F = enge(z, length_m, gap_m, enge_coefficients)`` and
    ``q(x) = b0 + b1 x + b2 x^2/2 + b3 x^3/6`` (dipole, gradient, sextupole, octupole:
    b_n = d^n By/dx^n on the axis, in T/m^n). Off the mid-plane the field is the gradient
    of the scalar potential :cite:p:`wolski2014`

        Phi = sum_k (-1)^k y^(2k+1)/(2k+1)! (d2/dx2 + d2/dz2)^k [F(z) q(x)],

    so it is exactly curl-free and mid-plane symmetric; its divergence is the first
    neglected term, of order y^(2K+1) F^(2K+2) for ``expansion_order`` K. For the default
    map (K = 3) it is largest in the fringes: about 6e-6 T/m at the map's vertical edge
    (y = 24 mm), falling as y^7 (about 1e-8 T/m at y = 10 mm), as the difference of the
    order-K and order-(K+1) series shows.

    Excitation: the field at current I is ``(I/I_nom) (b_nom - b_rem) + b_rem`` for each
    multipole, where ``b_nom`` are the values at the nominal current (arguments) and
    ``b_rem = remanent`` the remanent field left at I = 0 (same fringe shape; a
    simplification).

    Parameters
    ----------
    current_a : float, optional
        Excitation current in A (default: the nominal current).
    nominal_current_a : float
        Current in A at which the multipoles take the given values.
    b0_t, gradient_t_per_m, sextupole_t_per_m2, octupole_t_per_m3 : float
        b0 [T], b1 = dBy/dx [T/m], b2 = d2By/dx2 [T/m^2], b3 = d3By/dx3 [T/m^3] at the
        nominal current.
    remanent : sequence of 4 float
        Remanent (b0, b1, b2, b3) in the same units.
    length_m, gap_m : float
        Effective length and full vertical gap in m.
    enge_coefficients : sequence of float
        Coefficients of the Enge polynomial (see :func:`enge`).
    x, y, z : array_like, optional
        Grid axes in m. Defaults: x in [-56, 56] mm and y in [-24, 24] mm in 4 mm steps,
        z in [-1.8, 1.8] m in 10 mm steps (3.3 MB in double precision).
    expansion_order : int
        Highest k kept in the potential.

    Returns
    -------
    FieldMap
    """
    nominal_current_a = v.scalar("nominal_current_a", nominal_current_a, unit="A")
    if nominal_current_a == 0:
        raise InputError("nominal_current_a", nominal_current_a, "must not be 0",
                         "give the current at which the multipoles take the given values")
    current_a = nominal_current_a if current_a is None else v.scalar("current_a", current_a, unit="A")
    b0_t = v.scalar("b0_t", b0_t, unit="T")
    gradient_t_per_m = v.scalar("gradient_t_per_m", gradient_t_per_m, unit="T/m")
    sextupole_t_per_m2 = v.scalar("sextupole_t_per_m2", sextupole_t_per_m2, unit="T/m^2")
    octupole_t_per_m3 = v.scalar("octupole_t_per_m3", octupole_t_per_m3, unit="T/m^3")
    length_m = v.scalar("length_m", length_m, positive=True, unit="m")
    gap_m = v.scalar("gap_m", gap_m, positive=True, unit="m")
    expansion_order = v.integer("expansion_order", expansion_order, minimum=0)
    x = np.arange(-0.056, 0.0560001, 0.004) if x is None else np.asarray(x, float)
    y = np.arange(-0.024, 0.0240001, 0.004) if y is None else np.asarray(y, float)
    z = np.linspace(-1.8, 1.8, 361) if z is None else np.asarray(z, float)
    b_nom = np.array([b0_t, gradient_t_per_m, sextupole_t_per_m2, octupole_t_per_m3], float)
    b_rem = v.array("remanent", remanent, unit="T")
    if b_rem.shape != (4,):
        raise InputError("remanent", remanent, "must give (b0, b1, b2, b3)",
                         "give four remanent multipoles in T, T/m, T/m^2, T/m^3")
    b = (current_a / nominal_current_a) * (b_nom - b_rem) + b_rem

    K = int(expansion_order)
    F = enge(z, length_m, gap_m, enge_coefficients, derivatives=2 * K + 1)  # (2K+2, nz)
    q = _poly_derivs(b, x)  # q[d] (nx,)
    nq = len(q)

    def qd(d):
        return q[d] if d < nq else np.zeros_like(x)

    X = x[:, None, None]
    Y = y[None, :, None]
    bx = np.zeros((x.size, y.size, z.size))
    by = np.zeros_like(bx)
    bz = np.zeros_like(bx)
    for k in range(K + 1):
        # L^k b, d/dx L^k b, d/dz L^k b on the (x, z) mid-plane
        Lk = np.zeros((x.size, z.size))
        Lk_x = np.zeros_like(Lk)
        Lk_z = np.zeros_like(Lk)
        for j in range(k + 1):
            c = comb(k, j)
            Lk += c * qd(2 * j)[:, None] * F[2 * k - 2 * j][None, :]
            Lk_x += c * qd(2 * j + 1)[:, None] * F[2 * k - 2 * j][None, :]
            Lk_z += c * qd(2 * j)[:, None] * F[2 * k - 2 * j + 1][None, :]
        even = (-1) ** k * Y ** (2 * k) / factorial(2 * k)
        odd = (-1) ** k * Y ** (2 * k + 1) / factorial(2 * k + 1)
        by += even * Lk[:, None, :]
        bx += odd * Lk_x[:, None, :]
        bz += odd * Lk_z[:, None, :]
    del X
    meta = {
        "model": "synthetic combined-function magnet (beamkit)",
        "b_nominal": b_nom.tolist(),
        "b_remanent": b_rem.tolist(),
        "b_at_current": b.tolist(),
        "nominal_current_a": float(nominal_current_a),
        "length_m": float(length_m),
        "gap_m": float(gap_m),
        "enge_coefficients": list(map(float, enge_coefficients)),
        "expansion_order": K,
    }
    return FieldMap(
        x, y, z, bx, by, bz, current_a=float(current_a), frame="magnet (straight axis z)",
        description=(
            "Synthetic combined-function bending magnet: Enge fringes, dipole, gradient, "
            "sextupole and octupole; scalar-potential mid-plane expansion"
        ),
        metadata=meta,
    )
