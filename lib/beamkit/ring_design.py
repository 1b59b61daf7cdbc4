"""Designing a ring from its one-turn transfer matrix, isochronous rings included.

About 930 lines, over the project's ~400: the matrix analysis (Twiss, tunes, dispersion,
alpha_c, eta in three coordinate systems), the phase following, the chromaticity and the
time-of-flight tracking share the coordinate conversions; a split by those parts is open work.

A ring is a transfer line closed on itself: its one-turn matrix gives the matched beam
(periodic Twiss functions), the fractional tunes (from the trace), the periodic dispersion,
and from the path-length (or time) row the momentum compaction ``alpha_c`` and the slip
factor ``eta = alpha_c - 1/gamma0^2`` :cite:p:`weick2014gicosy`. The integer part of the tune
needs the phase followed element by element; the chromaticity comes from the matrices at
``+-delta`` (the chromatic terms); the second-order slip factor from the time of flight of
particles on their off-momentum closed orbits.

**Coordinates of a 6x6 matrix.**
``"xtrack"``: ``(x, px, y, py, zeta, delta)`` with ``zeta = s - beta0 c t``: a late particle
has a *smaller* zeta; over one turn ``Delta zeta = C - beta0 c T``, so that, with
``T0 = C / (beta0 c)``, ``T / T0 - 1 = -Delta zeta / C``. This is a time coordinate (the
source's time mode): the effective one-turn ``R56`` on the dispersive closed orbit is
``-eta C``.

``"transport"``: ``(x, x', y, y', l, delta)`` with ``l`` the path-length difference (TRANSPORT,
GICOSY's path-length mode ``O C N M L N``): the effective ``R56`` is ``+alpha_c C``. Over a
line of length ``L`` the two are related by ``Delta zeta = -Delta l + L delta / gamma0^2``
(first order), so that ``R5j(xtrack) = -R5j(transport)`` for ``j = 1..4`` and
``R56(xtrack) = -R56(transport) + L / gamma0^2``.

``"madx"``: ``(x, px, y, py, t, pt)`` with ``t = -c Delta t`` and ``pt = Delta E / (p0 c)``:
``zeta = beta0 t`` and ``delta = pt / beta0`` to first order.

At first order ``x' = px`` on the reference orbit, so the transverse blocks agree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import _validate as v
from .elements import SEXTUPOLE_KICKS
from .errors import ConvergenceError, InputError, UnstableLatticeError

__all__ = [
    "Chromaticity",
    "PhaseFollowing",
    "RingOptics",
    "TimeOfFlight",
    "chromaticity",
    "closed_orbits",
    "convert_matrix",
    "fodo_ring",
    "follow_phase",
    "lattice_matrix_6d",
    "momentum_compaction_from_slip",
    "ring_from_matrix",
    "slip_from_momentum_compaction",
    "slip_series",
    "time_of_flight",
    "tune_knob",
    "xtrack_line",
]

_COORDINATES = ("xtrack", "transport", "madx")
_PLANE_BLOCK = {"x": slice(0, 2), "y": slice(2, 4)}


# ------------------------------------------------------------------------- results
@dataclass(frozen=True)
class RingOptics:
    """Everything about a ring read off its one-turn matrix.

    Attributes
    ----------
    beta_x_m, beta_y_m : float
        Periodic beta functions at the matrix's start (m), general solution
        ``beta = M12 / sin(mu)``. NaN for a plane the matrix does not hold.
    alpha_x, alpha_y : float
        Periodic alpha functions, ``alpha = (M11 - M22) / (2 sin(mu))``.
    beta_x_upright_m, beta_y_upright_m : float
        The source's formula for an upright ellipse, ``sqrt(|M12^2 / (1 - M11^2)|)`` (m)
        :cite:p:`weick2014gicosy`. Equal to ``beta_x_m`` only where ``alpha_x = 0``.
    q_x, q_y : float
        Fractional tunes in [0, 1), from ``cos(mu) = trace / 2`` and the sign of ``M12``.
    dispersion_x_m, dispersion_prime_x : float
        Periodic dispersion (m) and its slope at the start; NaN without a delta column.
    alpha_c, eta, gamma_tr : float
        Momentum compaction, slip factor ``alpha_c - 1/gamma0^2`` and transition gamma
        (NaN when ``alpha_c <= 0``); NaN unless the matrix is 6x6.
    circumference_m, beta0, gamma0 : float
        What the ring was given (NaN when not given).
    """

    beta_x_m: float
    alpha_x: float
    beta_y_m: float
    alpha_y: float
    q_x: float
    q_y: float
    dispersion_x_m: float
    dispersion_prime_x: float
    alpha_c: float
    eta: float
    gamma_tr: float
    beta_x_upright_m: float = math.nan
    beta_y_upright_m: float = math.nan
    circumference_m: float = math.nan
    beta0: float = math.nan
    gamma0: float = math.nan

    def to_frame(self):
        """One-column table (quantity -> value)."""
        names = ["beta_x_m", "alpha_x", "beta_y_m", "alpha_y", "q_x", "q_y", "dispersion_x_m",
                 "dispersion_prime_x", "alpha_c", "eta", "gamma_tr", "beta_x_upright_m",
                 "beta_y_upright_m"]
        return pd.DataFrame({"value": [getattr(self, n) for n in names]}, index=names)


@dataclass(frozen=True)
class PhaseFollowing:
    """The betatron phase followed element by element around a ring.

    Attributes
    ----------
    plane : str
        ``"x"`` or ``"y"``.
    s_m : numpy.ndarray
        End position of each element (m), when the elements carry one (else NaN).
    mu_rad : numpy.ndarray
        Phase advance from the start to the end of each element (rad), never decreasing.
    q : float
        Full tune ``mu / (2 pi)`` after one turn, integer part included.
    q_integer : int
        Integer part of ``q``.
    q_fractional : float
        Fractional tune from the one-turn matrix's trace (a check on ``q``).
    n_half_pi_crossings : int
        How often the phase passes a multiple of pi/2: the source's count, done on the
        followed phase rather than read off an ``asin`` plot.
    """

    plane: str
    s_m: np.ndarray = field(repr=False)
    mu_rad: np.ndarray = field(repr=False)
    q: float
    q_integer: int
    q_fractional: float
    n_half_pi_crossings: int


@dataclass(frozen=True)
class Chromaticity:
    """Chromaticities dQ/d(delta) from one-turn matrices at ``+-delta``.

    Attributes
    ----------
    dq_x, dq_y : float
        Chromaticities (NaN for a plane the matrices do not hold).
    delta : float
        Half the momentum step used.
    method : str
        ``"finite_difference"`` or ``"chromatic_terms"``.
    """

    dq_x: float
    dq_y: float
    delta: float
    method: str


@dataclass(frozen=True)
class TimeOfFlight:
    """Revolution time against momentum, from tracking on off-momentum closed orbits.

    ``T(delta) / T0 - 1 = eta delta + eta_1 delta^2 + ...`` with ``T0 = C / (beta0 c)``.

    Attributes
    ----------
    delta : numpy.ndarray
        Momentum deviations tracked.
    dt_per_turn_s : numpy.ndarray
        ``T(delta) - T0`` (s), averaged over ``n_turns``.
    t_rev0_s : float
        Revolution time of the reference particle ``T0`` (s).
    eta, eta_1 : float
        First- and second-order slip factors (the delta and delta^2 coefficients).
    alpha_c, alpha_c_1 : float
        First- and second-order momentum compaction, ``Delta L / C = alpha_c delta +
        alpha_c_1 delta^2``, converted from the slip with the exact velocity expansion.
    fit_residual : float
        RMS residual of the polynomial fit of ``T / T0 - 1`` (dimensionless).
    n_turns : int
        Turns tracked.
    circumference_m, beta0, gamma0 : float
        Of the ring.
    """

    delta: np.ndarray = field(repr=False)
    dt_per_turn_s: np.ndarray = field(repr=False)
    t_rev0_s: float
    eta: float
    eta_1: float
    alpha_c: float
    alpha_c_1: float
    fit_residual: float
    n_turns: int
    circumference_m: float
    beta0: float
    gamma0: float

    def to_frame(self):
        """Table of ``delta`` and ``dt_per_turn_s``."""
        return pd.DataFrame({"delta": self.delta, "dt_per_turn_s": self.dt_per_turn_s})


# ------------------------------------------------------------------------- helpers
def _j(n):
    j = np.zeros((n, n))
    for i in range(0, n, 2):
        j[i, i + 1] = 1.0
        j[i + 1, i] = -1.0
    return j


def _check_beta0(beta0, why):
    if beta0 is None:
        raise InputError("beta0", beta0, f"is needed {why}",
                         "give the relativistic beta of the reference particle, 0 < beta0 < 1")
    b = v.scalar("beta0", beta0, positive=True)
    if not b < 1.0:
        raise InputError("beta0", beta0, "must be < 1 (a massive particle)",
                         "give the relativistic beta v/c, not gamma")
    return b


def _check_circumference(circumference_m, why):
    if circumference_m is None:
        raise InputError("circumference_m", circumference_m, f"is needed {why}",
                         "give the ring's circumference (the length of the matrix's line) in m")
    return v.scalar("circumference_m", circumference_m, positive=True, unit="m")


def _matrix(name, m, sizes=(2, 3, 4, 6)):
    a = v.array(name, m, ndim=2)
    if a.shape[0] != a.shape[1] or a.shape[0] not in sizes:
        raise InputError(name, m, f"must be a square matrix of size {' or '.join(map(str, sizes))}, "
                                  f"got shape {a.shape}",
                         "give the one-turn matrix in (x, px), (x, px, delta), (x, px, y, py) or "
                         "(x, px, y, py, zeta, delta)")
    return a


def _convert(m, frm, to, beta0, length_m):
    """6x6 conversion between coordinate systems (see the module docstring)."""
    if frm == to:
        return m.copy()
    g2 = 1.0 - beta0**2  # 1 / gamma0^2
    # to xtrack
    if frm == "madx":
        d = np.diag([1.0, 1.0, 1.0, 1.0, beta0, 1.0 / beta0])
        mx = d @ m @ np.linalg.inv(d)
    elif frm == "transport":
        mx = m.copy()
        mx[4, :] = -m[4, :]
        mx[:, 4] = -m[:, 4]
        mx[4, 4] = m[4, 4]
        mx[4, 5] += length_m * g2
    else:
        mx = m.copy()
    if to == "xtrack":
        return mx
    if to == "madx":
        d = np.diag([1.0, 1.0, 1.0, 1.0, beta0, 1.0 / beta0])
        return np.linalg.inv(d) @ mx @ d
    # to transport: the inverse of the transport -> xtrack step
    mt = mx.copy()
    mt[4, 5] -= length_m * g2
    out = mt.copy()
    out[4, :] = -mt[4, :]
    out[:, 4] = -mt[:, 4]
    out[4, 4] = mt[4, 4]
    return out


def _symplectic_error(m):
    n = m.shape[0]
    j = _j(n)
    scale = max(1.0, float(np.max(np.abs(m))) ** 2)
    return float(np.max(np.abs(m.T @ j @ m - j))) / scale


def _plane_twiss(block, plane):
    """beta, alpha, fractional tune, upright beta of a 2x2 one-turn block."""
    cos_mu = 0.5 * (block[0, 0] + block[1, 1])
    if not abs(cos_mu) < 1.0:
        raise UnstableLatticeError(2 * cos_mu, plane)
    sin_mu = math.copysign(math.sqrt(1.0 - cos_mu**2), block[0, 1])
    mu = math.atan2(sin_mu, cos_mu) % (2 * math.pi)
    beta = block[0, 1] / sin_mu
    alpha = (block[0, 0] - block[1, 1]) / (2 * sin_mu)
    denom = 1.0 - block[0, 0] ** 2
    upright = math.sqrt(abs(block[0, 1] ** 2 / denom)) if denom != 0 else math.nan
    return beta, alpha, mu / (2 * math.pi), upright


def _tune(block):
    cos_mu = 0.5 * (block[0, 0] + block[1, 1])
    if not abs(cos_mu) < 1.0:
        raise UnstableLatticeError(2 * cos_mu)
    sin_mu = math.copysign(math.sqrt(1.0 - cos_mu**2), block[0, 1])
    return (math.atan2(sin_mu, cos_mu) % (2 * math.pi)) / (2 * math.pi), sin_mu


# ------------------------------------------------------------------------- public API
def convert_matrix(m, from_coordinates, to_coordinates, beta0, length_m):
    """Convert a 6x6 transfer matrix between xtrack, TRANSPORT and MAD-X coordinates.

    Parameters
    ----------
    m : array_like, shape (6, 6)
        The matrix in ``from_coordinates``.
    from_coordinates, to_coordinates : {"xtrack", "transport", "madx"}
        See the module docstring for their definitions.
    beta0 : float
        Relativistic beta of the reference particle.
    length_m : float
        Length of the line the matrix describes (m): the velocity term
        ``L / gamma0^2`` between path length and time.

    Returns
    -------
    numpy.ndarray
        A new 6x6 array (the input is not modified).

    Notes
    -----
    The source's two modes :cite:p:`weick2014gicosy`: in path-length mode the one-turn
    ``[L, D] = alpha_c C``, in time mode ``[L, D] = eta T0``.
    """
    a = _matrix("m", m, sizes=(6,))
    frm = v.choice("from_coordinates", from_coordinates, _COORDINATES)
    to = v.choice("to_coordinates", to_coordinates, _COORDINATES)
    b = _check_beta0(beta0, "to convert between coordinate systems")
    length = v.scalar("length_m", length_m, nonnegative=True, unit="m")
    return _convert(a, frm, to, b, length)


def ring_from_matrix(m, circumference_m=None, beta0=None, coordinates="xtrack", *, symplectic_tol=1e-6):
    """Matched Twiss functions, tunes, dispersion, momentum compaction and slip of a ring.

    Parameters
    ----------
    m : array_like
        The one-turn matrix: 2x2 ``(x, px)``, 3x3 ``(x, px, delta)`` (as
        :meth:`beamkit.lattices.Lattice.one_turn_matrix` gives), 4x4 ``(x, px, y, py)`` or
        6x6 in ``coordinates``. Transverse planes must be uncoupled, and a 6x6 must be of a
        ring without RF (its zeta column is the unit vector).
    circumference_m : float, optional
        Length of the ring (m); needed for a 6x6 matrix.
    beta0 : float, optional
        Relativistic beta of the reference particle; needed for a 6x6 matrix (the slip
        factor and momentum compaction differ by ``1/gamma0^2 = 1 - beta0^2``).
    coordinates : {"xtrack", "transport", "madx"}
        Meaning of a 6x6 matrix's rows (module docstring).
    symplectic_tol : float
        Largest accepted ``|M^T J M - J|`` (relative to ``max|M|^2``); matrices from
        finite-difference tracking are symplectic to ~1e-9.

    Returns
    -------
    RingOptics

    Raises
    ------
    beamkit.UnstableLatticeError
        ``|trace| >= 2`` in a plane.

    Notes
    -----
    Bad input raises ``beamkit.InputError``: a matrix of the wrong shape, non-symplectic,
    coupled or with RF; a 6x6 without ``beta0`` or ``circumference_m``.

    ``cos(mu) = (M11 + M22)/2``, ``beta = M12 / sin(mu)``, ``alpha = (M11 - M22) / (2 sin
    mu)``, the dispersion solves ``(1 - M) D = M_delta``, and on that closed orbit the
    time row gives ``eta = -(R51 D + R52 D' + R56) / C`` in xtrack coordinates
    :cite:p:`weick2014gicosy,lee2019`.
    """
    a = _matrix("m", m)
    coords = v.choice("coordinates", coordinates, _COORDINATES)
    tol = v.scalar("symplectic_tol", symplectic_tol, positive=True)
    n = a.shape[0]
    circ = v.scalar("circumference_m", circumference_m, positive=True, unit="m", allow_none=True)
    b0 = None if beta0 is None else _check_beta0(beta0, "")
    if n == 6:
        circ = _check_circumference(circumference_m, "to read alpha_c and eta off a 6x6 matrix")
        b0 = _check_beta0(beta0, "to tell eta from alpha_c (they differ by 1/gamma0^2)")
        col = a[:, 4].copy()
        col[4] -= 1.0
        if np.max(np.abs(col)) > 1e-9:
            raise InputError("m", m, "has a non-trivial zeta column (RF in the ring?)",
                             "give the one-turn matrix of the ring without RF cavities")
        a = _convert(a, coords, "xtrack", b0, circ)
    # checks: shape-specific symplecticity and coupling
    if n == 3:
        if np.max(np.abs(a[2] - [0.0, 0.0, 1.0])) > 1e-12:
            raise InputError("m", m, "must have (0, 0, 1) as its last row (delta is constant)",
                             "give a 3x3 matrix in (x, px, delta)")
        err = abs(np.linalg.det(a[:2, :2]) - 1.0)
    else:
        err = _symplectic_error(a)
    if err > tol:
        raise InputError("m", m, f"is not symplectic (error {err:.3g} > symplectic_tol = {tol:g})",
                         "check the matrix and its coordinates (a 6x6 must match `coordinates`)")
    if n >= 4:
        off = max(np.max(np.abs(a[0:2, 2:4])), np.max(np.abs(a[2:4, 0:2])))
        if off > 1e-9 * max(1.0, np.max(np.abs(a))):
            raise InputError("m", m, f"couples x and y (off-diagonal block up to {off:.3g})",
                             "this function treats uncoupled rings only")
    bx, ax, qx, ux = _plane_twiss(a[0:2, 0:2], "x")
    by = ay = qy = uy = math.nan
    if n >= 4:
        by, ay, qy, uy = _plane_twiss(a[2:4, 2:4], "y")
    disp = dispp = alpha_c = eta = gamma_tr = math.nan
    if n in (3, 6):
        k = n - 1
        d = np.linalg.solve(np.eye(2) - a[0:2, 0:2], a[0:2, k])
        disp, dispp = float(d[0]), float(d[1])
    if n == 6:
        dy = np.linalg.solve(np.eye(2) - a[2:4, 2:4], a[2:4, 5])
        r56 = a[4, 0] * d[0] + a[4, 1] * d[1] + a[4, 2] * dy[0] + a[4, 3] * dy[1] + a[4, 5]
        eta = float(-r56 / circ)
        alpha_c = eta + (1.0 - b0**2)
        gamma_tr = 1.0 / math.sqrt(alpha_c) if alpha_c > 0 else math.nan
    gamma0 = 1.0 / math.sqrt(1.0 - b0**2) if b0 is not None else math.nan
    return RingOptics(
        beta_x_m=float(bx), alpha_x=float(ax), beta_y_m=float(by), alpha_y=float(ay),
        q_x=float(qx), q_y=float(qy), dispersion_x_m=disp, dispersion_prime_x=dispp,
        alpha_c=float(alpha_c), eta=float(eta), gamma_tr=float(gamma_tr),
        beta_x_upright_m=float(ux), beta_y_upright_m=float(uy),
        circumference_m=math.nan if circ is None else circ,
        beta0=math.nan if b0 is None else b0, gamma0=gamma0,
    )


def lattice_matrix_6d(lattice, coordinates="transport"):
    """The 6x6 one-turn matrix of a :class:`beamkit.lattices.Lattice`, built from its slices.

    The transverse blocks are those of :meth:`beamkit.lattices.Lattice.transfer_matrices`; the path-length
    row is the integral of ``h x ds`` through each sector bend in closed form: for a bend
    of curvature ``h`` and length ``L`` (weak focusing ``k = h^2``),
    ``R51 = sin(hL)``, ``R52 = (1 - cos(hL)) / h``, ``R56 = L - sin(hL) / h``
    (TRANSPORT's path-length coordinates) :cite:p:`lee2019`.

    Parameters
    ----------
    lattice : beamkit.lattices.Lattice
    coordinates : {"transport", "xtrack", "madx"}
        Coordinates of the matrix returned.

    Returns
    -------
    numpy.ndarray, shape (6, 6)
    """
    if not (hasattr(lattice, "transfer_matrices") and hasattr(lattice, "beta0")):
        raise InputError("lattice", lattice, "must be a beamkit.lattices.Lattice",
                         "build it with beamkit.lattices (e.g. fodo_ring)")
    coords = v.choice("coordinates", coordinates, _COORDINATES)
    total = np.eye(6)
    sx = lattice.transfer_matrices("x")
    sy = lattice.transfer_matrices("y")
    for a, b in zip(sx, sy):
        m = np.eye(6)
        m[0:2, 0:2] = a.matrix[0:2, 0:2]
        m[0:2, 5] = a.matrix[0:2, 2]
        m[2:4, 2:4] = b.matrix[0:2, 0:2]
        m[2:4, 5] = b.matrix[0:2, 2]
        if a.kind == "sbend":
            mag = next(mg for mg in lattice.magnets if mg.name == a.name)
            h = lattice.strength(mag, "angle") / mag.length_m
            length = a.s_end_m - a.s_start_m
            if h != 0.0:
                m[4, 0] = math.sin(h * length)
                m[4, 1] = (1.0 - math.cos(h * length)) / h
                m[4, 5] = length - math.sin(h * length) / h
        total = m @ total
    return _convert(total, "transport", coords, lattice.beta0, lattice.length_m)


def follow_phase(matrices, plane="x"):
    """Follow the betatron phase element by element: the full tune, integer part included.

    Starting from the periodic Twiss functions of the product, each element's phase
    advance is ``atan2(M12, beta0 M11 - alpha0 M12)`` taken in [0, 2 pi): exact as long
    as no single element advances the phase by 2 pi or more (slice strong elements). This
    replaces the source's reading of an ``asin`` plot and counting its pi/2 touches
    :cite:p:`weick2014gicosy`.

    Parameters
    ----------
    matrices : sequence
        Element matrices in beam order: arrays (2x2, 3x3 of one plane, 4x4 or 6x6) or the
        :class:`beamkit.lattices.Slice` objects of :meth:`beamkit.lattices.Lattice.transfer_matrices`.
    plane : {"x", "y"}
        The plane of a 4x4 or 6x6 (2x2 and 3x3 matrices hold one plane in their first
        block; ``plane`` then only names it).

    Returns
    -------
    PhaseFollowing
    """
    pl = v.choice("plane", plane, ("x", "y"))
    try:
        items = list(matrices)
    except TypeError:
        raise InputError("matrices", matrices, "must be a sequence of matrices",
                         "pass a list of element matrices in beam order") from None
    if not items:
        raise InputError("matrices", matrices, "is empty", "pass at least one element matrix")
    blocks, s_end = [], []
    size = None
    for i, item in enumerate(items):
        raw = getattr(item, "matrix", item)
        a = _matrix(f"matrices[{i}]", raw)
        if size is None:
            size = a.shape[0]
        elif a.shape[0] != size:
            raise InputError(f"matrices[{i}]", raw, f"has shape {a.shape}, the first had {(size, size)}",
                             "give matrices of one size")
        blk = _PLANE_BLOCK[pl] if size >= 4 else slice(0, 2)
        blocks.append(a[blk, blk])
        s_end.append(float(getattr(item, "s_end_m", math.nan)))
    total = np.eye(2)
    for b in blocks:
        total = b @ total
    beta, alpha, q_frac, _ = _plane_twiss(total, pl)
    mu = np.empty(len(blocks))
    acc = 0.0
    for i, b in enumerate(blocks):
        step = math.atan2(b[0, 1], beta * b[0, 0] - alpha * b[0, 1]) % (2 * math.pi)
        if step > 2 * math.pi - 1e-12:  # a thin kick: numerically 2 pi means 0
            step = 0.0
        acc += step
        mu[i] = acc
        beta, alpha = ((b[0, 0] * beta - b[0, 1] * alpha) ** 2 + b[0, 1] ** 2) / beta, \
            -((b[0, 0] * beta - b[0, 1] * alpha) * (b[1, 0] * beta - b[1, 1] * alpha)
              + b[0, 1] * b[1, 1]) / beta
    q = acc / (2 * math.pi)
    frac_followed = q % 1.0
    if min(abs(frac_followed - q_frac), 1 - abs(frac_followed - q_frac)) > 1e-8:
        raise ConvergenceError("following the phase", abs(frac_followed - q_frac),
                               "an element advances the phase by 2 pi or more: slice it finer")
    return PhaseFollowing(
        plane=pl, s_m=np.array(s_end), mu_rad=mu, q=float(q), q_integer=math.floor(q + 1e-12),
        q_fractional=float(q_frac), n_half_pi_crossings=math.floor(acc / (math.pi / 2) + 1e-12),
    )


def chromaticity(m_minus, m_plus, delta, method="finite_difference", m0=None):
    """Chromaticities from one-turn matrices at ``-delta`` and ``+delta``.

    Parameters
    ----------
    m_minus, m_plus : array_like
        One-turn matrices (2x2, 3x3, 4x4 or 6x6, same shape) at momentum deviations
        ``-delta`` and ``+delta`` (on the off-momentum closed orbits, so that sextupoles
        count through their feed-down).
    delta : float
        The momentum step (> 0, typically 1e-5 .. 1e-3).
    method : {"finite_difference", "chromatic_terms"}
        ``"finite_difference"``: ``(Q(+delta) - Q(-delta)) / (2 delta)`` with the tunes
        from the traces. ``"chromatic_terms"``: the source's route
        :cite:p:`weick2014gicosy`: the chromatic terms ``[X,XD] = dM11/d delta`` and
        ``[A,AD] = dM22/d delta`` change the trace, ``dQ/d delta = -([X,XD] + [A,AD]) /
        (4 pi sin mu)``, with ``sin mu`` signed like ``M12``.
    m0 : array_like, optional
        The on-momentum matrix for ``"chromatic_terms"`` (default: the mean of the two).

    Returns
    -------
    Chromaticity
        Both methods are accurate to O(delta^2).
    """
    a = _matrix("m_minus", m_minus)
    b = _matrix("m_plus", m_plus)
    v.same_shape(m_minus=a, m_plus=b)
    d = v.scalar("delta", delta, positive=True, maximum=0.1)
    meth = v.choice("method", method, ("finite_difference", "chromatic_terms"))
    c = 0.5 * (a + b) if m0 is None else _matrix("m0", m0)
    if m0 is not None:
        v.same_shape(m_minus=a, m0=c)
    planes = ["x"] + (["y"] if a.shape[0] >= 4 else [])
    out = {"x": math.nan, "y": math.nan}
    for pl in planes:
        blk = _PLANE_BLOCK[pl]
        if meth == "finite_difference":
            qm, _ = _tune(a[blk, blk])
            qp, _ = _tune(b[blk, blk])
            out[pl] = (((qp - qm) + 0.5) % 1.0 - 0.5) / (2 * d)
        else:
            _, sin_mu = _tune(c[blk, blk])
            dm = (b[blk, blk] - a[blk, blk]) / (2 * d)
            out[pl] = -(dm[0, 0] + dm[1, 1]) / (4 * math.pi * sin_mu)
    return Chromaticity(dq_x=float(out["x"]), dq_y=float(out["y"]), delta=d, method=meth)


def slip_from_momentum_compaction(alpha_c, alpha_c_1, gamma0):
    """First- and second-order slip factors from the momentum compaction.

    With ``Delta L / C = alpha_c delta + alpha_c_1 delta^2`` and the exact velocity
    ``beta0 / beta = sqrt(beta0^2 + g / (1 + delta)^2)``, ``g = 1/gamma0^2``, the
    revolution time is ``T / T0 = (beta0 / beta) (1 + Delta L / C)``, so
    ``eta = alpha_c - g`` and ``eta_1 = alpha_c_1 - g alpha_c + (3 g - g^2) / 2``.

    Returns
    -------
    tuple of float
        ``(eta, eta_1)``.
    """
    a1 = v.scalar("alpha_c", alpha_c)
    a2 = v.scalar("alpha_c_1", alpha_c_1)
    g0 = v.scalar("gamma0", gamma0, minimum=1.0)
    g = 1.0 / g0**2
    return a1 - g, a2 - g * a1 + (3 * g - g * g) / 2


def momentum_compaction_from_slip(eta, eta_1, gamma0):
    """Inverse of :func:`slip_from_momentum_compaction`: ``(alpha_c, alpha_c_1)``."""
    e1 = v.scalar("eta", eta)
    e2 = v.scalar("eta_1", eta_1)
    g0 = v.scalar("gamma0", gamma0, minimum=1.0)
    g = 1.0 / g0**2
    a1 = e1 + g
    return a1, e2 + g * a1 - (3 * g - g * g) / 2


def slip_series(alphas, gamma0):
    """Slip factors of every order from the momentum compaction of every order.

    With ``Delta L / C = alphas[0] delta + alphas[1] delta^2 + ...`` and the exact
    velocity, ``T / T0 = sqrt(1 + g ((1 + delta)^-2 - 1)) (1 + Delta L / C)`` with
    ``g = 1/gamma0^2``; this expands the square root as a binomial series and multiplies
    the power series, truncated at the order of ``alphas``.

    Parameters
    ----------
    alphas : array_like
        ``[alpha_c, alpha_c_1, alpha_c_2, ...]``: the coefficients of ``delta``,
        ``delta^2``, ... in ``Delta L / C``. PTC's ``alpha_c_p``, ``alpha_c_p2``,
        ``alpha_c_p3`` are derivatives: ``alpha_c_1 = alpha_c_p / 2``, ``alpha_c_2 =
        alpha_c_p2 / 6``, ``alpha_c_3 = alpha_c_p3 / 24``.
    gamma0 : float
        Relativistic gamma of the reference particle (> 1).

    Returns
    -------
    numpy.ndarray
        ``[eta, eta_1, eta_2, ...]``, the coefficients of ``delta``, ``delta^2``, ... in
        ``T / T0 - 1``, as many as ``alphas``. The first two equal
        :func:`slip_from_momentum_compaction`.
    """
    a = v.array("alphas", alphas, ndim=1, min_size=1)
    g0 = v.scalar("gamma0", gamma0, greater_than=1.0)
    g = 1.0 / g0**2
    n = len(a) + 1
    poly = np.polynomial.polynomial
    r = g * np.array([(-1.0) ** k * (k + 1) for k in range(n)])  # g (1 + delta)^-2 ...
    r[0] -= g  # ... minus g: r(0) = 0
    velocity = np.zeros(n)  # beta0 / beta = sum_k binom(1/2, k) r^k
    term = np.zeros(n)
    term[0] = coef = 1.0
    for k in range(n):
        velocity[: len(term)] += coef * term[:n]
        term = poly.polymul(term, r)[:n]
        coef *= (0.5 - k) / (k + 1)
    out = poly.polymul(velocity, np.r_[1.0, a])[:n]
    return np.asarray(out[1:], dtype=float)


def _check_line(line):
    if not (hasattr(line, "track") and hasattr(line, "particle_ref") and hasattr(line, "build_particles")):
        raise InputError("line", line, "must be an xtrack.Line", "build it with Lattice.to_xtrack()")
    if line.particle_ref is None:
        raise InputError("line", line, "has no particle_ref", "set line.particle_ref")


def _private_copy(line):
    """A deep copy of the caller's line to track: tracking builds a tracker on the line it
    is given (and would leave one on the caller's), so the caller's line is never tracked."""
    return line.copy()


def _closed_orbits(line, d, tol_m=1e-13, max_iter=20):
    """4D closed orbits (n, 4) for the momentum deviations ``d``, by Newton on one-turn tracking."""
    n = len(d)
    co = np.zeros((n, 4))
    eps = 1e-8
    names = ("x", "px", "y", "py")
    for _ in range(max_iter):
        starts = np.repeat(co[:, None, :], 5, axis=1)  # centre and four displaced copies
        for k in range(4):
            starts[:, k + 1, k] += eps
        flat = starts.reshape(-1, 4)
        p = line.build_particles(x=flat[:, 0], px=flat[:, 1], y=flat[:, 2], py=flat[:, 3], zeta=0.0,
                                 delta=np.repeat(d, 5))
        line.track(p, num_turns=1)
        order = np.argsort(p.particle_id)
        if np.any(np.asarray(p.state)[order] <= 0):
            raise ConvergenceError("the 4D closed-orbit search", None,
                                   "a particle was lost: use smaller momentum deviations")
        out = np.stack([np.asarray(getattr(p, nm))[order] for nm in names], axis=1).reshape(n, 5, 4)
        residual = out[:, 0, :] - co
        if np.max(np.abs(residual)) < tol_m:
            return co
        jac = (out[:, 1:, :] - out[:, :1, :]) / eps  # (n, k, i) = d out_i / d start_k
        for j in range(n):
            co[j] += np.linalg.solve(jac[j].T - np.eye(4), -residual[j])
    raise ConvergenceError("the 4D closed-orbit search", float(np.max(np.abs(residual))))


def closed_orbits(line, deltas):
    """4D closed orbits of an xtrack ring for several momentum deviations (no RF).

    Newton iterations on one-turn tracking (finite-difference Jacobian), all momenta at once;
    converged to 1e-13 m.

    Parameters
    ----------
    line : xtrack.Line
        The ring, with ``particle_ref`` set. A copy of it is tracked: the caller's line
        (its elements, knobs and tracker state) is left as it was.
    deltas : array_like
        Momentum deviations, ``|delta| < 0.1``.

    Returns
    -------
    pandas.DataFrame
        Columns ``delta``, ``x``, ``px``, ``y``, ``py`` (m and 1) at the line's start.
    """
    _check_line(line)
    d = v.array("deltas", deltas, ndim=1, min_size=1, greater_than=-0.1, maximum=0.1)
    co = _closed_orbits(_private_copy(line), d)
    return pd.DataFrame({"delta": d, "x": co[:, 0], "px": co[:, 1], "y": co[:, 2], "py": co[:, 3]})


def time_of_flight(line, deltas, n_turns=1, fit_order=4):
    """Track particles on their off-momentum closed orbits and fit the revolution time.

    Each particle starts on the 4D closed orbit of its ``delta`` (:func:`closed_orbits`)
    with ``zeta = 0`` and is tracked ``n_turns`` turns (no RF: delta is constant). Its
    ``zeta`` falls behind by ``C - beta0 c T`` per turn, exactly, so
    ``T / T0 - 1 = -Delta zeta / (n_turns C)``; a polynomial of ``fit_order`` in delta
    (abscissa scaled) gives ``eta`` and ``eta_1``.

    Parameters
    ----------
    line : xtrack.Line
        The ring, with ``particle_ref`` set. A copy of it is tracked: the caller's line
        (its elements, knobs and tracker state) is left as it was.
    deltas : array_like
        Momentum deviations (at least ``fit_order + 2`` distinct values, ``|delta| < 0.1``).
    n_turns : int
        Turns to track.
    fit_order : int
        Degree of the polynomial (>= 2). Terms beyond it alias into the fitted ones: on
        points symmetric about 0 the ``delta^(k+1)`` term of a degree-``k`` fit (``k`` odd)
        shifts ``eta_1`` by its coefficient times ``c h^2`` (``h`` the largest ``|delta|``;
        ``c = 1.06`` for 7 equally spaced points). In an isochronous ring that bias is the
        whole answer: a cubic on ``+-2e-3`` gave ``eta_1 = 0`` where the true value was
        ``1e-5`` (the ``delta^4`` coefficient is ~2). Hence the even default: a quartic has no
        ``delta^4`` or ``delta^5`` leakage into ``eta_1`` on symmetric points.

    Returns
    -------
    TimeOfFlight

    Notes
    -----
    ``fit_residual`` measures misfit, not accuracy: the biased cubic above had a residual
    of 1e-12. Check a fitted ``eta_1`` by a second fit of higher order or narrower range.
    """
    _check_line(line)
    order = v.integer("fit_order", fit_order, minimum=2, maximum=6)
    d = v.array("deltas", deltas, ndim=1, min_size=order + 2, greater_than=-0.1, maximum=0.1)
    if len(np.unique(d)) < order + 2:
        raise InputError("deltas", deltas, f"needs at least {order + 2} distinct values",
                         "spread the momentum deviations")
    n = v.integer("n_turns", n_turns, minimum=1)
    beta0 = float(line.particle_ref.beta0[0])
    gamma0 = float(line.particle_ref.gamma0[0])
    circ = float(line.get_length())
    work = _private_copy(line)
    co = _closed_orbits(work, d)
    p = work.build_particles(x=co[:, 0], px=co[:, 1], y=co[:, 2], py=co[:, 3], zeta=0.0, delta=d)
    work.track(p, num_turns=n)
    idx = np.argsort(p.particle_id)
    if np.any(np.asarray(p.state)[idx] <= 0):
        raise InputError("deltas", deltas, "some particles were lost", "use smaller momentum deviations")
    dzeta = np.asarray(p.zeta)[idx] / n
    rel = -dzeta / circ  # T / T0 - 1
    scale = float(np.max(np.abs(d))) or 1.0
    coef = np.polynomial.polynomial.polyfit(d / scale, rel, order)
    resid = rel - np.polynomial.polynomial.polyval(d / scale, coef)
    eta = coef[1] / scale
    eta_1 = coef[2] / scale**2
    alpha_c, alpha_c_1 = momentum_compaction_from_slip(eta, eta_1, gamma0)
    t0 = circ / (beta0 * 299792458.0)
    return TimeOfFlight(delta=d, dt_per_turn_s=rel * t0, t_rev0_s=t0, eta=float(eta), eta_1=float(eta_1),
                        alpha_c=float(alpha_c), alpha_c_1=float(alpha_c_1),
                        fit_residual=float(np.sqrt(np.mean(resid**2))), n_turns=n,
                        circumference_m=circ, beta0=beta0, gamma0=gamma0)


def fodo_ring(n_cells, circumference_m, k1l_f, k1l_d, *, gamma0, quad_length_m=0.5,
              sextupole_length_m=0.3, k2sf=0.0, k2sd=0.0, particle="proton"):
    """A ring of identical FODO cells with two sector bends and two sextupoles per cell.

    Each cell starts and ends in the middle of QF; a QF-type sextupole ``sf`` sits right
    after QF (large dispersion, large beta_x) and ``sd`` right after QD. The bends fill half
    of each half cell's free space and bend by ``pi / n_cells`` each.

    Parameters
    ----------
    n_cells : int
        Number of cells (>= 3).
    circumference_m : float
        Ring length (m).
    k1l_f, k1l_d : float
        Integrated strengths of the full QF and QD (1/m); knobs ``k1l_f``, ``k1l_d``.
    gamma0 : float
        Relativistic gamma of the beam.
    quad_length_m, sextupole_length_m : float
        Magnet lengths (m).
    k2sf, k2sd : float
        Sextupole strengths (1/m^3); knobs ``k2sf``, ``k2sd``.
    particle : str
        ``"proton"``, ``"electron"`` or ``"positron"``.

    Returns
    -------
    beamkit.lattices.Lattice
    """
    from .lattices import PARTICLES, Lattice, Magnet

    n = v.integer("n_cells", n_cells, minimum=3)
    circ = v.scalar("circumference_m", circumference_m, positive=True, unit="m")
    g0 = v.scalar("gamma0", gamma0, greater_than=1.0)
    lq = v.scalar("quad_length_m", quad_length_m, positive=True, unit="m")
    ls = v.scalar("sextupole_length_m", sextupole_length_m, positive=True, unit="m")
    part = v.choice("particle", particle, tuple(PARTICLES))
    lc = circ / n
    free_half = lc / 2 - lq
    lb = free_half / 2
    if lq / 2 + ls + 0.05 > lc / 4 - lb / 2:
        raise InputError("circumference_m", circumference_m,
                         f"leaves no room for the magnets in {n} cells", "use fewer cells or shorter magnets")
    variables = {"k1l_f": v.scalar("k1l_f", k1l_f, unit="1/m"), "k1l_d": v.scalar("k1l_d", k1l_d, unit="1/m"),
                 "theta": math.pi / n, "k2sf": v.scalar("k2sf", k2sf), "k2sd": v.scalar("k2sd", k2sd)}
    k1f, k1d = f"k1l_f / {lq!r}", f"k1l_d / {lq!r}"
    mags = [Magnet("qf0", "quadrupole", lq / 4, lq / 2, {"k1": k1f})]
    for i in range(n):
        s0 = i * lc
        if i > 0:
            mags.append(Magnet(f"qf{i}", "quadrupole", s0, lq, {"k1": k1f}))
        mags += [
            Magnet(f"sf{i}", "sextupole", s0 + lq / 2 + 0.05 + ls / 2, ls, {"k2": "k2sf"}),
            Magnet(f"mb{i}a", "sbend", s0 + lc / 4, lb, {"angle": "theta"}),
            Magnet(f"qd{i}", "quadrupole", s0 + lc / 2, lq, {"k1": k1d}),
            Magnet(f"sd{i}", "sextupole", s0 + lc / 2 + lq / 2 + 0.05 + ls / 2, ls, {"k2": "k2sd"}),
            Magnet(f"mb{i}b", "sbend", s0 + 3 * lc / 4, lb, {"angle": "theta"}),
        ]
    mags.append(Magnet("qfend", "quadrupole", circ - lq / 4, lq / 2, {"k1": k1f}))
    mass_ev = PARTICLES[part][0]
    return Lattice("ring", circ, tuple(mags), variables, part, g0 * mass_ev,
                   f"ring of {n} FODO cells, C = {circ} m, gamma0 = {g0}")


def tune_knob(objective, bracket, *, name="knob", xtol=1e-12):
    """Solve ``objective(value) = 0`` for one knob inside ``bracket`` (Brent's method).

    Parameters
    ----------
    objective : callable
        Function of the knob value returning a float.
    bracket : tuple of float
        ``(low, high)`` where ``objective`` changes sign.
    name : str
        The knob's name, for messages.
    xtol : float
        Absolute tolerance on the knob.

    Returns
    -------
    float
    """
    from scipy.optimize import brentq

    if not callable(objective):
        raise InputError("objective", objective, "must be callable", "pass a function of the knob value")
    br = v.array("bracket", bracket, shape=(2,))
    lo, hi = float(br[0]), float(br[1])
    f_lo, f_hi = objective(lo), objective(hi)
    if not np.isfinite(f_lo) or not np.isfinite(f_hi) or f_lo * f_hi > 0:
        raise InputError("bracket", bracket,
                         f"does not bracket a zero of the objective for {name} "
                         f"(values {f_lo:.3g} and {f_hi:.3g})", "widen or move the bracket")
    x, info = brentq(objective, lo, hi, xtol=xtol, full_output=True)
    if not info.converged:
        raise ConvergenceError(f"tuning {name}", None)
    return float(x)


def xtrack_line(lattice, num_multipole_kicks=SEXTUPOLE_KICKS):
    """``lattice.to_xtrack()`` with the sextupoles integrated by ``num_multipole_kicks`` kicks.

    xtrack's own thick sextupole is one kick at the centre; beamkit's lattices already use
    :data:`beamkit.elements.SEXTUPOLE_KICKS` (64) kicks, the default here. In the chapter's
    isochronous ring 20 kicks move ``eta_1`` by 1.3e-8 from PTC's thick sextupoles, 64
    kicks by less than 1e-9.
    """
    if not hasattr(lattice, "to_xtrack"):
        raise InputError("lattice", lattice, "must be a beamkit.lattices.Lattice",
                         "build it with beamkit.lattices or fodo_ring")
    n = v.integer("num_multipole_kicks", num_multipole_kicks, minimum=1)
    line = lattice.to_xtrack()
    for mag in lattice.magnets:
        if mag.kind == "sextupole":
            line[mag.name].num_multipole_kicks = n
    return line
