"""Linear transfer matrices and periodic Twiss functions.

Conventions
-----------
Matrices act on column vectors ``(x, x', delta)`` (3x3) or ``(x, x')`` (2x2), with
``x`` in m, ``x'`` in rad and ``delta = (p - p0)/p0``. A positive ``k1`` (in m^-2)
focuses in the horizontal plane and defocuses in the vertical plane, as in MAD-X and
xtrack. A line of elements ``M_1, M_2, ..., M_n`` (in beam order) has the matrix
``M_n @ ... @ M_2 @ M_1`` (:func:`line_matrix`).

For a vertical plane the dispersion column of a bend is zero (the bends here are
horizontal), so every function returns the same 3x3 shape for either plane.

The matrices and Twiss functions follow :cite:p:`wille2000` (ch. 3) and :cite:p:`lee2019`
(ch. 2).

The module is about 600 lines because it also holds the first-order chromatic terms of
bends and sextupoles about the dispersive orbit (:func:`sector_bend_chromatic_terms`,
:func:`sector_bend_about_orbit` and their sextupole partners): they are matrices and
integrals over the same closed-form optics, and belong with them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import _validate as v
from .errors import InputError, UnstableLatticeError

__all__ = [
    "drift",
    "quadrupole",
    "thin_quadrupole",
    "sector_bend",
    "ChromaticTerms",
    "sector_bend_chromatic_terms",
    "sextupole_chromatic_terms",
    "sector_bend_about_orbit",
    "sextupole_about_orbit",
    "line_matrix",
    "PeriodicTwiss",
    "TwissAlong",
    "periodic_twiss",
    "propagate_twiss",
    "is_symplectic",
    "thin_fodo_traces",
]


def _check_plane(plane):
    v.choice("plane", plane, ("x", "y"))


def _check_delta(delta):
    return v.scalar("delta", delta, greater_than=-1.0,
                    fix="delta = (p - p0)/p0 > -1 (delta = -1 is a particle at rest)")


def _check_matrices(name, matrices):
    """A list of square 2x2 or 3x3 float arrays of one shape, finite (copies)."""
    try:
        items = list(matrices)
    except TypeError:
        raise InputError(name, matrices, "must be a sequence of 2x2 or 3x3 matrices") from None
    out = []
    for i, m in enumerate(items):
        m = v.array(f"{name}[{i}]", m, ndim=2)
        if m.shape not in ((2, 2), (3, 3)) or (out and m.shape != out[0].shape):
            want = out[0].shape if out else "2x2 or 3x3"
            raise InputError(f"{name}[{i}]", m, f"has shape {m.shape}, expected {want}",
                             "give matrices of one size, (x, x') or (x, x', delta)")
        out.append(m)
    return out


def _embed(m2, dispersion=(0.0, 0.0), dim=3):
    if dim == 2:
        return np.asarray(m2, dtype=float)
    if dim != 3:
        raise InputError("dim", dim, "must be 2 or 3", "2 for (x, x'), 3 for (x, x', delta)")
    m = np.eye(3)
    m[:2, :2] = m2
    m[0, 2], m[1, 2] = dispersion
    return m


def drift(length_m, dim=3):
    """Transfer matrix of a field-free drift of length ``length_m`` (m)."""
    length_m = v.scalar("length_m", length_m, unit="m")
    return _embed([[1.0, length_m], [0.0, 1.0]], dim=dim)


def _focusing_block(k_per_m2, length_m):
    """2x2 matrix of x'' = -k x over a length; k may be of either sign or zero."""
    if k_per_m2 > 0:
        w = np.sqrt(k_per_m2)
        c, s = np.cos(w * length_m), np.sin(w * length_m)
        return np.array([[c, s / w], [-w * s, c]])
    if k_per_m2 < 0:
        w = np.sqrt(-k_per_m2)
        c, s = np.cosh(w * length_m), np.sinh(w * length_m)
        return np.array([[c, s / w], [w * s, c]])
    return np.array([[1.0, length_m], [0.0, 1.0]])


def quadrupole(k1, length_m, plane="x", dim=3, delta=0.0):
    """Thick quadrupole of normalised gradient ``k1`` (m^-2) and length ``length_m`` (m).

    ``k1 > 0`` focuses in ``x`` and defocuses in ``y``. An off-momentum particle sees
    ``k1 / (1 + delta)`` (its magnetic rigidity is larger), which is how the natural
    chromaticity arises.
    """
    _check_plane(plane)
    k1 = v.scalar("k1", k1, unit="m^-2")
    length_m = v.scalar("length_m", length_m, nonnegative=True, unit="m")
    delta = _check_delta(delta)
    k = k1 / (1.0 + delta)
    k = k if plane == "x" else -k
    return _embed(_focusing_block(k, length_m), dim=dim)


def thin_quadrupole(k1l, plane="x", dim=3, delta=0.0):
    """Thin quadrupole of integrated strength ``k1l`` = 1/f (m^-1).

    ``x' -> x' - k1l x`` in the horizontal plane, ``y' -> y' + k1l y`` in the vertical.
    """
    _check_plane(plane)
    k1l = v.scalar("k1l", k1l, unit="m^-1")
    delta = _check_delta(delta)
    kl = k1l / (1.0 + delta)
    kl = kl if plane == "x" else -kl
    return _embed([[1.0, 0.0], [-kl, 1.0]], dim=dim)


def sector_bend(angle_rad, length_m, plane="x", dim=3, delta=0.0):
    """Sector dipole (no edge angles, no gradient) bending by ``angle_rad`` over ``length_m``.

    Horizontally it focuses weakly with ``K = h^2`` (``h = angle/length``) and creates
    dispersion: ``M13 = rho (1 - cos theta)``, ``M23 = sin theta``. Vertically it is a
    drift. For ``delta != 0`` the focusing ``h^2`` is scaled by ``1/(1 + delta)``, as
    for a quadrupole. That is not the whole chromatic effect of a bend: about the
    dispersive orbit ``x = D delta`` its path length and the slope at its faces add terms
    of first order in delta (second order in the angle), which
    :func:`sector_bend_chromatic_terms` gives as a chromaticity.
    """
    _check_plane(plane)
    angle_rad = v.scalar("angle_rad", angle_rad, unit="rad")
    length_m = v.scalar("length_m", length_m, positive=True, unit="m",
                        fix="a sector bend needs a positive length (m)")
    delta = _check_delta(delta)
    if plane == "y" or angle_rad == 0:
        return drift(length_m, dim=dim)
    h = angle_rad / length_m
    k = h * h / (1.0 + delta)
    m2 = _focusing_block(k, length_m)
    w = np.sqrt(k)
    # Dispersion: particular solution of x'' + k x = h (the driving term per unit delta).
    d = h * (1.0 - np.cos(w * length_m)) / k
    dp = h * np.sin(w * length_m) / w
    return _embed(m2, dispersion=(d, dp), dim=dim)


@dataclass(frozen=True)
class ChromaticTerms:
    """Contribution of one element to the chromaticity (per unit delta).

    Attributes
    ----------
    dq_x, dq_y : float
        dQ_x/d delta and dQ_y/d delta of the element (1).
    """

    dq_x: float
    dq_y: float


def _entrance_optics(beta_x_m, alpha_x, beta_y_m, alpha_y, dispersion_m, dispersion_prime):
    return (v.scalar("beta_x_m", beta_x_m, positive=True, unit="m"), v.scalar("alpha_x", alpha_x),
            v.scalar("beta_y_m", beta_y_m, positive=True, unit="m"), v.scalar("alpha_y", alpha_y),
            v.scalar("dispersion_m", dispersion_m, unit="m"), v.scalar("dispersion_prime", dispersion_prime))


#: Gauss-Legendre nodes for the integrals over a bend. The integrands are trigonometric
#: polynomials of frequency <= 3h in s; with 16 nodes the quadrature error is below 1e-20
#: (relative) for |angle| <= pi/2 and below 1e-14 for |angle| <= pi: exact to rounding.
_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(16)


def sector_bend_chromatic_terms(angle_rad, length_m, *, beta_x_m, alpha_x, beta_y_m, alpha_y,
                                dispersion_m, dispersion_prime, entrance_edge=True, exit_edge=True):
    """Chromaticity of a sector bend beyond the ``h^2/(1+delta)`` of :func:`sector_bend`.

    An off-momentum particle in a bend of curvature ``h = angle/length`` travels on the
    dispersive orbit ``x0 = D delta``, ``px0 = D' delta``. Its linear motion about that orbit
    differs from :func:`sector_bend` at ``delta`` by terms of first order in delta, from
    the cubic terms of the Hamiltonian ``H = -(1 + h x) sqrt((1+delta)^2 - px^2 - py^2)
    + h x + h^2 x^2 / 2`` (the exact one; the TRANSPORT second-order map MAD-X uses for a
    thick ``sbend`` has the same cubic terms) :cite:p:`madx,lee2019`:
    ``h x (px^2 + py^2)/2`` gives, about the orbit, the quadratic perturbation
    ``delta (h D' x px + h D px^2/2 + h D py^2/2)`` (the path through the bend is longer by
    ``h x``). With ``dQ = (1/4 pi) integral (a beta - 2 b alpha + c gamma) ds`` for a
    perturbation ``(a x^2 + 2 b x px + c px^2)/2``,

    ``dq_x = (1/4 pi) integral h (D gamma_x - 2 D' alpha_x) ds``,
    ``dq_y = (1/4 pi) integral h D gamma_y ds``,

    with the optics inside the bend carried from the entrance (on-momentum matrices).
    The pole faces (zero edge angle, hard edge) add a vertical term: the dispersive orbit
    crosses them at the slope ``D' delta``, an effective edge angle, whose focusing
    ``-h tan(e) y`` gives ``+h beta_y D'/(4 pi)`` at the entrance and ``-h beta_y D'/(4 pi)``
    at the exit (MAD-X's dipole edge; xtrack's ``edge='full'``). These terms are first order
    in delta and second order in the angle (curvature times dispersion); the LHC cell's six
    bends give 3.1019e-4 in ``dq_x`` and 2.1111e-4 in ``dq_y`` (issue 9, point 10).

    Parameters
    ----------
    angle_rad : float
        Bending angle of the piece (rad), ``|angle_rad| <= pi``.
    length_m : float
        Its length along the reference orbit (m).
    beta_x_m, alpha_x, beta_y_m, alpha_y : float
        Twiss functions at the entrance of the piece (m, 1).
    dispersion_m, dispersion_prime : float
        Dispersion D (m) and D' (1) at the entrance.
    entrance_edge, exit_edge : bool
        Whether the piece starts (ends) at a pole face of the magnet; False for the
        inner cuts of a sliced bend.

    Returns
    -------
    ChromaticTerms
        ``dq_x``, ``dq_y`` per unit delta.

    Notes
    -----
    The integrals use 16-point Gauss-Legendre quadrature on the closed-form optics
    (``cos hs``, ``sin hs``), exact to rounding for ``|angle| <= pi``.
    """
    angle_rad = v.scalar("angle_rad", angle_rad, minimum=-np.pi, maximum=np.pi, unit="rad")
    length_m = v.scalar("length_m", length_m, positive=True, unit="m")
    bx, ax, by, ay, d0, dp0 = _entrance_optics(beta_x_m, alpha_x, beta_y_m, alpha_y,
                                               dispersion_m, dispersion_prime)
    if angle_rad == 0.0:
        return ChromaticTerms(0.0, 0.0)
    h = angle_rad / length_m
    gx, gy = (1 + ax * ax) / bx, (1 + ay * ay) / by
    s = 0.5 * length_m * (_GL_NODES + 1.0)
    w = 0.5 * length_m * _GL_WEIGHTS
    c, sn = np.cos(h * s), np.sin(h * s)
    alpha_s = bx * h * c * sn + ax * (c * c - sn * sn) - gx * c * sn / h
    gamma_s = gx * c * c + 2 * ax * h * c * sn + bx * h * h * sn * sn
    d_s = d0 * c + dp0 * sn / h + (1 - c) / h
    dp_s = -h * d0 * sn + dp0 * c + sn
    dq_x = h * np.sum(w * (d_s * gamma_s - 2 * dp_s * alpha_s))
    dq_y = h * gy * np.sum(w * d_s)
    if entrance_edge:
        dq_y += h * by * dp0
    if exit_edge:
        dp_end = -h * d0 * np.sin(angle_rad) + dp0 * np.cos(angle_rad) + np.sin(angle_rad)
        by_end = by - 2 * ay * length_m + gy * length_m**2
        dq_y -= h * by_end * dp_end
    return ChromaticTerms(float(dq_x / (4 * np.pi)), float(dq_y / (4 * np.pi)))


def sextupole_chromatic_terms(k2, length_m, *, beta_x_m, alpha_x, beta_y_m, alpha_y,
                              dispersion_m, dispersion_prime):
    """Chromaticity of a thick sextupole on the dispersive orbit.

    A sextupole ``H = k2 (x^3 - 3 x y^2)/6`` seen about the orbit ``x0 = D delta`` is a
    quadrupole of gradient ``k2 D delta``: ``dq_x = (1/4 pi) k2 integral beta_x D ds`` and
    ``dq_y = -(1/4 pi) k2 integral beta_y D ds`` :cite:p:`wille2000,lee2019`. Inside the
    magnet the linear optics are those of a drift, so with ``b, a, g`` the Twiss functions
    and ``D0, D0'`` the dispersion at the entrance,

    ``integral beta D ds = b D0 l + (b D0' - 2 a D0) l^2/2 + (g D0 - 2 a D0') l^3/3 + g D0' l^4/4``.

    First-order perturbation theory is exact for the derivative dQ/d delta, so this is
    MAD-X's sextupole contribution to its plain-``twiss`` ``dq1``, ``dq2`` (issue 9, point 9).

    Parameters
    ----------
    k2 : float
        Normalised sextupole strength (m^-3).
    length_m : float
        Length (m).
    beta_x_m, alpha_x, beta_y_m, alpha_y, dispersion_m, dispersion_prime : float
        Optics at the entrance (m, 1, m, 1, m, 1).

    Returns
    -------
    ChromaticTerms
    """
    k2 = v.scalar("k2", k2, unit="m^-3")
    length_m = v.scalar("length_m", length_m, nonnegative=True, unit="m")
    bx, ax, by, ay, d0, dp0 = _entrance_optics(beta_x_m, alpha_x, beta_y_m, alpha_y,
                                               dispersion_m, dispersion_prime)
    out = []
    for b, a in ((bx, ax), (by, ay)):
        g = (1 + a * a) / b
        ell = length_m
        out.append(b * d0 * ell + (b * dp0 - 2 * a * d0) * ell**2 / 2
                   + (g * d0 - 2 * a * dp0) * ell**3 / 3 + g * dp0 * ell**4 / 4)
    return ChromaticTerms(float(k2 * out[0] / (4 * np.pi)), float(-k2 * out[1] / (4 * np.pi)))


def _first_order_term(length_m, block, generator):
    """integral_0^L M0(L <- s) A1(s) M0(s <- 0) ds for M0(s) = block(s) (2x2), by 16-point
    Gauss-Legendre quadrature (trigonometric or polynomial integrands of low order: exact
    to rounding, see _GL_NODES)."""
    total = np.zeros((2, 2))
    m_end = block(length_m)
    for x, w in zip(_GL_NODES, _GL_WEIGHTS):
        s = 0.5 * length_m * (x + 1.0)
        m_s = block(s)
        # M0(L <- s) = M0(L) M0(s)^-1 (det 1: the inverse of [[a, b], [c, d]] is [[d, -b], [-c, a]])
        inv = np.array([[m_s[1, 1], -m_s[0, 1]], [-m_s[1, 0], m_s[0, 0]]])
        total += 0.5 * length_m * w * (m_end @ inv @ generator(s) @ m_s)
    return total


def sector_bend_about_orbit(angle_rad, length_m, plane="x", delta=0.0, *, dispersion_m, dispersion_prime,
                            entrance_edge=True, exit_edge=True):
    """Off-momentum 3x3 matrix of a sector bend, linearised about the dispersive orbit.

    :func:`sector_bend` at ``delta`` scales the weak focusing as ``h^2/(1+delta)`` and no
    more. About the off-momentum closed orbit ``x0 = D delta``, ``px0 = D' delta`` the
    linear motion has further terms of first order in delta (see
    :func:`sector_bend_chromatic_terms` for their origin in the Hamiltonian): in
    ``z' = A z`` the generator gains ``delta [[h D', h D], [0, -h D']]`` horizontally and
    ``delta [[0, h D], [0, 0]]`` vertically, and the pole faces crossed at the slope
    ``D' delta`` add vertical thin lenses ``M21 = -h D' delta`` (entrance) and
    ``+h D'_exit delta`` (exit). This function returns
    ``exit_edge @ (M_sector_bend(delta) + delta M1) @ entrance_edge`` with
    ``M1 = integral M0(L <- s) A1(s) M0(s <- 0) ds``: correct to first order in delta (its
    2x2 block has ``det = 1 + O(delta^2)``), which is what a chromaticity needs.

    Parameters
    ----------
    angle_rad, length_m : float
        Bending angle (rad, ``|angle| <= pi``) and length (m) of the piece.
    plane : {"x", "y"}
    delta : float
        Relative momentum deviation (1).
    dispersion_m, dispersion_prime : float
        Dispersion D (m) and D' (1) at the entrance of the piece (on momentum).
    entrance_edge, exit_edge : bool
        Whether the piece starts (ends) at a pole face.

    Returns
    -------
    numpy.ndarray, shape (3, 3)
    """
    _check_plane(plane)
    angle_rad = v.scalar("angle_rad", angle_rad, minimum=-np.pi, maximum=np.pi, unit="rad")
    length_m = v.scalar("length_m", length_m, positive=True, unit="m")
    delta = v.scalar("delta", delta, greater_than=-1.0)
    d0 = v.scalar("dispersion_m", dispersion_m, unit="m")
    dp0 = v.scalar("dispersion_prime", dispersion_prime)
    m = sector_bend(angle_rad, length_m, plane, delta=delta)
    if angle_rad == 0.0 or delta == 0.0:
        return m
    h = angle_rad / length_m

    def disp(s):
        return (d0 * np.cos(h * s) + dp0 * np.sin(h * s) / h + (1 - np.cos(h * s)) / h,
                -h * d0 * np.sin(h * s) + dp0 * np.cos(h * s) + np.sin(h * s))

    if plane == "x":
        def block(s):
            return _focusing_block(h * h, s)

        def generator(s):
            d, dp = disp(s)
            return np.array([[h * dp, h * d], [0.0, -h * dp]])
    else:
        def block(s):
            return np.array([[1.0, s], [0.0, 1.0]])

        def generator(s):
            return np.array([[0.0, h * disp(s)[0]], [0.0, 0.0]])

    m[:2, :2] += delta * _first_order_term(length_m, block, generator)
    if plane == "y":
        if entrance_edge:
            m = m @ _embed([[1.0, 0.0], [-h * dp0 * delta, 1.0]])
        if exit_edge:
            m = _embed([[1.0, 0.0], [h * disp(length_m)[1] * delta, 1.0]]) @ m
    return m


def sextupole_about_orbit(k2, length_m, plane="x", delta=0.0, *, dispersion_m, dispersion_prime):
    """Off-momentum 3x3 matrix of a thick sextupole, linearised about the dispersive orbit.

    On the orbit ``x0 = D delta`` the sextupole is a quadrupole of gradient ``k2 D delta``
    (focusing in x for ``k2 D > 0``, defocusing in y): the drift's generator gains
    ``delta [[0, 0], [-k2 D, 0]]`` (``+k2 D`` in y), integrated over the drift-like optics.
    Correct to first order in delta. See :func:`sextupole_chromatic_terms`.

    Parameters
    ----------
    k2 : float
        Normalised strength (m^-3).
    length_m : float
        Length (m).
    plane : {"x", "y"}
    delta : float
        Relative momentum deviation (1).
    dispersion_m, dispersion_prime : float
        D (m) and D' (1) at the entrance.

    Returns
    -------
    numpy.ndarray, shape (3, 3)
    """
    _check_plane(plane)
    k2 = v.scalar("k2", k2, unit="m^-3")
    length_m = v.scalar("length_m", length_m, positive=True, unit="m")
    delta = v.scalar("delta", delta, greater_than=-1.0)
    d0 = v.scalar("dispersion_m", dispersion_m, unit="m")
    dp0 = v.scalar("dispersion_prime", dispersion_prime)
    m = drift(length_m)
    sign = 1.0 if plane == "x" else -1.0

    def block(s):
        return np.array([[1.0, s], [0.0, 1.0]])

    def generator(s):
        return np.array([[0.0, 0.0], [-sign * k2 * (d0 + dp0 * s), 0.0]])

    m[:2, :2] += delta * _first_order_term(length_m, block, generator)
    return m


def line_matrix(matrices):
    """Product of transfer matrices given in beam order: ``M_n @ ... @ M_1``."""
    matrices = _check_matrices("matrices", matrices)
    if not matrices:
        raise InputError("matrices", matrices, "line_matrix needs at least one matrix")
    out = np.eye(np.shape(matrices[0])[0])
    for m in matrices:
        out = np.asarray(m, dtype=float) @ out
    return out


def is_symplectic(matrix, atol=1e-12):
    """True when the 2x2 betatron block satisfies ``M^T S M = S`` within ``atol``."""
    m = _check_matrices("matrix", [matrix])[0][:2, :2]
    atol = v.scalar("atol", atol, nonnegative=True)
    s = np.array([[0.0, 1.0], [-1.0, 0.0]])
    return bool(np.allclose(m.T @ s @ m, s, atol=atol, rtol=0))


@dataclass(frozen=True)
class PeriodicTwiss:
    """Periodic (matched) optics of one period at its entrance.

    Attributes
    ----------
    beta_m, alpha, gamma_per_m : float
        Twiss functions (m, 1, 1/m).
    q : float
        Tune of one period: phase advance per period over 2 pi, ``mu / (2 pi)`` in [0, 1).
    mu_rad : float
        Phase advance per period in [0, 2 pi) (rad).
    dispersion_m, dispersion_prime : float
        Periodic dispersion D (m) and D' (rad) for a 3x3 matrix; ``nan`` for 2x2.
    """

    beta_m: float
    alpha: float
    gamma_per_m: float
    q: float
    mu_rad: float
    dispersion_m: float = float("nan")
    dispersion_prime: float = float("nan")

    @property
    def tune(self):
        """The same as :attr:`q` (kept for ``benchmarks/run.py``; use ``q``)."""
        return self.q


@dataclass(frozen=True, eq=False)
class TwissAlong:
    """Twiss functions and dispersion carried through a line (:func:`propagate_twiss`).

    Attributes
    ----------
    beta_m, alpha : numpy.ndarray
        Twiss functions (m, 1) at the entrance and after every matrix, length n + 1.
    mu_rad : numpy.ndarray
        Phase advance accumulated from the entrance (rad).
    dispersion_m, dispersion_prime : numpy.ndarray
        Dispersion D (m) and D' (1).
    """

    beta_m: np.ndarray
    alpha: np.ndarray
    mu_rad: np.ndarray
    dispersion_m: np.ndarray
    dispersion_prime: np.ndarray

    def to_frame(self):
        """One row per position: the five arrays as columns."""
        import pandas as pd

        return pd.DataFrame({k: getattr(self, k) for k in
                             ("beta_m", "alpha", "mu_rad", "dispersion_m", "dispersion_prime")})


def periodic_twiss(matrix, plane=None):
    """Periodic Twiss functions from a one-period transfer matrix.

    Parameters
    ----------
    matrix : array_like, shape (2, 2) or (3, 3)
        One-period matrix in ``(x, x')`` or ``(x, x', delta)``.
    plane : str, optional
        Only used to name the plane in error messages.

    Returns
    -------
    PeriodicTwiss

    Raises
    ------
    UnstableLatticeError
        When ``|trace| >= 2`` for the 2x2 block (no real phase advance).

    Notes
    -----
    With ``M = I cos(mu) + J sin(mu)``, ``J = [[alpha, beta], [-gamma, -alpha]]``:
    ``cos(mu) = trace/2``; the sign of ``sin(mu)`` is that of ``M12`` so that
    ``beta > 0``. The periodic dispersion solves ``(I - M2) (D, D') = (M13, M23)``.
    """
    m = np.asarray(matrix, dtype=float)
    if m.shape not in ((2, 2), (3, 3)):
        raise InputError("matrix", m, f"periodic_twiss needs a 2x2 or 3x3 matrix, got shape {m.shape}")
    if not np.all(np.isfinite(m)):
        raise InputError("matrix", m, "periodic_twiss got a matrix with NaN or inf entries")
    trace = m[0, 0] + m[1, 1]
    if not abs(trace) < 2.0:
        raise UnstableLatticeError(trace, plane)
    cos_mu = trace / 2.0
    sin_mu = np.sign(m[0, 1]) * np.sqrt(1.0 - cos_mu**2)
    beta = m[0, 1] / sin_mu
    alpha = (m[0, 0] - m[1, 1]) / (2.0 * sin_mu)
    gamma = -m[1, 0] / sin_mu
    mu = np.arctan2(sin_mu, cos_mu) % (2 * np.pi)
    disp = dispp = float("nan")
    if m.shape == (3, 3):
        a = np.eye(2) - m[:2, :2]
        disp, dispp = np.linalg.solve(a, m[:2, 2])
    return PeriodicTwiss(
        beta_m=float(beta),
        alpha=float(alpha),
        gamma_per_m=float(gamma),
        q=float(mu / (2 * np.pi)),
        mu_rad=float(mu),
        dispersion_m=float(disp),
        dispersion_prime=float(dispp),
    )


def propagate_twiss(matrices, twiss0):
    """Carry Twiss functions and dispersion through a list of matrices.

    Parameters
    ----------
    matrices : sequence of (3, 3) arrays
        In beam order; for smooth curves, slice elements finely.
    twiss0 : PeriodicTwiss
        Optics at the entrance (``dispersion_m`` may be nan for a 2x2 start).

    Returns
    -------
    TwissAlong
        ``beta_m``, ``alpha``, ``mu_rad`` (accumulated phase), ``dispersion_m`` and
        ``dispersion_prime`` at the entrance and after every matrix (length n + 1).

    Notes
    -----
    ``beta1 = C^2 beta0 - 2 C S alpha0 + S^2 gamma0``,
    ``alpha1 = -C C' beta0 + (C S' + S C') alpha0 - S S' gamma0`` and the phase
    advance ``atan2(S, C beta0 - S alpha0)`` for ``M = [[C, S], [C', S']]``.
    """
    matrices = _check_matrices("matrices", matrices)
    if not isinstance(twiss0, PeriodicTwiss):
        raise InputError("twiss0", twiss0, "must be a PeriodicTwiss", "use matrices.periodic_twiss(...)")
    v.scalar("twiss0.beta_m", twiss0.beta_m, positive=True, unit="m")
    v.scalar("twiss0.alpha", twiss0.alpha)
    n = len(matrices)
    beta = np.empty(n + 1)
    alpha = np.empty(n + 1)
    mu = np.empty(n + 1)
    disp = np.empty(n + 1)
    dispp = np.empty(n + 1)
    b, a, g = twiss0.beta_m, twiss0.alpha, twiss0.gamma_per_m
    d = 0.0 if np.isnan(twiss0.dispersion_m) else twiss0.dispersion_m
    dp = 0.0 if np.isnan(twiss0.dispersion_prime) else twiss0.dispersion_prime
    beta[0], alpha[0], mu[0], disp[0], dispp[0] = b, a, 0.0, d, dp
    phase = 0.0
    for i, m in enumerate(matrices, start=1):
        m = np.asarray(m, dtype=float)
        c, s, cp, sp = m[0, 0], m[0, 1], m[1, 0], m[1, 1]
        phase += np.arctan2(s, c * b - s * a)
        b_new = c * c * b - 2 * c * s * a + s * s * g
        a_new = -c * cp * b + (c * sp + s * cp) * a - s * sp * g
        b, a = b_new, a_new
        g = (1.0 + a * a) / b
        d, dp = (m[:2, :2] @ np.array([d, dp]) + (m[:2, 2] if m.shape[0] == 3 else 0.0))
        beta[i], alpha[i], mu[i], disp[i], dispp[i] = b, a, phase, d, dp
    return TwissAlong(beta_m=beta, alpha=alpha, mu_rad=mu, dispersion_m=disp, dispersion_prime=dispp)


def thin_fodo_traces(f_f_m, f_d_m, length_m=1.0):
    """Traces of the one-cell matrix of a thin FODO cell in x and y (stable when ``|trace| < 2``).

    The cell runs from the middle of QF to the middle of QF: half of QF (focal length
    ``2 f_F``), a drift ``L/2``, QD (focal length ``-f_D`` in x), a drift ``L/2`` and the
    other half of QF; the vertical plane sees the opposite signs. The matrices are
    multiplied out; the closed form is
    ``trace_x = 2 - L (1/f_F - 1/f_D) - L^2/(4 f_F f_D)`` and ``trace_y`` with ``f_F`` and
    ``f_D`` swapped in the middle term :cite:p:`wille2000`.

    Parameters
    ----------
    f_f_m, f_d_m : float
        Focal lengths of the whole QF and of QD, both as positive numbers (m).
    length_m : float
        Cell length L (m).

    Returns
    -------
    (float, float)
        ``(trace_x, trace_y)``.
    """
    f_f_m = v.scalar("f_f_m", f_f_m, positive=True, unit="m")
    f_d_m = v.scalar("f_d_m", f_d_m, positive=True, unit="m")
    length_m = v.scalar("length_m", length_m, positive=True, unit="m")
    traces = []
    for plane in ("x", "y"):
        m = line_matrix([
            thin_quadrupole(1 / (2 * f_f_m), plane, dim=2),
            drift(length_m / 2, dim=2),
            thin_quadrupole(-1 / f_d_m, plane, dim=2),
            drift(length_m / 2, dim=2),
            thin_quadrupole(1 / (2 * f_f_m), plane, dim=2),
        ])
        traces.append(float(np.trace(m)))
    return traces[0], traces[1]
