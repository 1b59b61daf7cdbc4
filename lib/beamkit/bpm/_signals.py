"""Plate signals of a 4-plate BPM and their modes (source Eqs. 1-6)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .. import _validate as v
from ..errors import ConvergenceError, InputError

__all__ = ["PLATE_CENTRES_RAD", "Modes", "gaussian_signals", "modes", "plate_signals"]

#: Centres of the plates R, L, T, B (rad), in the order the signals are returned.
PLATE_CENTRES_RAD = (0.0, math.pi, math.pi / 2, 3 * math.pi / 2)


def _geometry(radius_m, plate_angle_rad):
    a = v.scalar("radius_m", radius_m, positive=True, unit="m")
    v.plausible("radius_m", a, 1e-3, 0.5, "m", "a BPM radius is millimetres to decimetres: give it in metres")
    phi0 = v.scalar("plate_angle_rad", plate_angle_rad, positive=True, maximum=math.pi / 2, unit="rad",
                    fix="four plates of at most pi/2 each fit on the circle; give the angle in radians")
    return a, phi0


def plate_signals(x, y, radius_m, plate_angle_rad, weights=None):
    """Signals of the plates R, L, T, B of a 4-plate BPM, exact for any particle positions.

    The wall current of a line charge at ``z = x + i y`` inside a conducting circle of
    radius ``a`` is the Poisson kernel :cite:p:`tan2024booster` (source Eq. 1, there as its
    Fourier series). Its integral over a plate from ``phi1`` to ``phi2`` has the closed form

    ``F = (phi2 - phi1) / (2 pi) + [arg(1 - conj(z) e^{i phi1} / a) - arg(1 - conj(z) e^{i phi2} / a)] / pi``,

    which is used here (no truncated series). Plates are centred at 0 (R), 180 (L), 90 (T)
    and 270 (B) degrees, each subtending ``plate_angle_rad``.

    Parameters
    ----------
    x, y : array_like
        Particle positions (m), same shape; particles along the last axis (a scalar is
        one particle). Every particle must be inside the pipe, ``x^2 + y^2 < a^2``.
    radius_m : float
        Radius ``a`` of the circle the plates lie on (m).
    plate_angle_rad : float
        Angle ``phi0`` subtended by each plate (rad), ``0 < phi0 <= pi/2``.
    weights : array_like, optional
        Non-negative charge of each particle (same shape as ``x``); equal by default.

    Returns
    -------
    numpy.ndarray
        Shape ``x.shape[:-1] + (4,)``: the fraction of the beam's image current collected
        by R, L, T, B (positive numbers; the source's currents carry a minus sign). A
        centred pencil beam gives ``phi0 / (2 pi)`` on every plate.
    """
    a, phi0 = _geometry(radius_m, plate_angle_rad)
    x = v.array("x", x, unit="m")
    y = v.array("y", y, unit="m")
    v.same_shape(x=x, y=y)
    if x.ndim == 0:
        x, y = x.reshape(1), y.reshape(1)
    if x.size == 0:
        raise InputError("x", x, "holds no particles", "give at least one particle position")
    r2 = (x * x + y * y) / (a * a)
    if np.any(r2 >= 1.0):
        idx = tuple(int(i) for i in np.argwhere(r2 >= 1.0)[0])
        raise InputError("x", x, f"a particle at index {idx} is at or outside the BPM radius {a:g} m",
                         "keep every particle inside the pipe (or give radius_m in metres)")
    if weights is None:
        w = None
    else:
        w = v.array("weights", weights, nonnegative=True)
        v.same_shape(x=x, weights=w)
        if np.any(w.sum(axis=-1) <= 0):
            raise InputError("weights", weights, "sum to zero for some beam", "give positive charges")
    u, vv = x / a, y / a
    out = np.empty(x.shape[:-1] + (4,))
    for k, centre in enumerate(PLATE_CENTRES_RAD):
        total = np.full(x.shape, phi0 / (2 * math.pi))
        for sign, edge in ((1.0, centre - phi0 / 2), (-1.0, centre + phi0 / 2)):
            c, s = math.cos(edge), math.sin(edge)
            # arg(1 - conj(z) e^{i phi} / a); the real part is > 0 inside the pipe: no branch cut
            total += sign * np.arctan2(vv * c - u * s, 1.0 - u * c - vv * s) / math.pi
        out[..., k] = total.mean(axis=-1) if w is None else (total * w).sum(axis=-1) / w.sum(axis=-1)
    return out


def _moments(z0, s, n_max):
    """Complex moments <z^n> / a^n, n = 0..n_max, of a Gaussian beam (z0 = zbar/a, s = pseudo-variance/a^2).

    For an uncoupled Gaussian, <exp(t z)> = exp(t zbar + t^2 (sigma_x^2 - sigma_y^2)/2), so
    the moments follow the Hermite recursion m_{n+1} = z0 m_n + n s m_{n-1}.
    """
    m = [np.ones_like(z0), z0]
    for n in range(1, n_max):
        m.append(z0 * m[n] + n * s * m[n - 1])
    return m


def _gaussian_modes(xb, yb, s, phi0, n_max=40):
    """(d_x, d_y, q) of a Gaussian beam from the plate series, all in units of a (vectorised).

    The series is asymptotic (Gaussian tails reach beyond the wall): it is summed up to
    its smallest term. Returns the modes and the size of the last term used.
    """
    z0 = xb + 1j * yb
    m = _moments(z0, s + 0j, n_max)
    base = 2 * phi0 / math.pi  # (R+L+T+B) of a centred pencil beam, times 1
    tot = np.full(np.shape(z0), base)
    rl = np.zeros(np.shape(z0))
    tb = np.zeros(np.shape(z0))
    qq = np.zeros(np.shape(z0))
    best = np.full(np.shape(z0), np.inf)
    active = np.ones(np.shape(z0), bool)
    for n in range(1, n_max + 1):
        c = 8.0 / math.pi * math.sin(n * phi0 / 2) / n
        term = m[n]
        size = np.abs(term)
        if n > 8:  # stop where the asymptotic series turns (odd terms of a centred beam are 0)
            active &= size <= best * 10.0
        best = np.where(size > 0, np.minimum(best, size), best)
        t = np.where(active, term, 0.0)
        r = n % 4
        if r == 0:
            tot = tot + c * t.real
        elif r == 2:
            qq = qq + c * t.real
        elif r == 1:  # R - L and T - B collect two plates, not four
            rl = rl + c / 2 * t.real
            tb = tb + c / 2 * t.imag
        else:  # r == 3: i^3 = -i
            rl = rl + c / 2 * t.real
            tb = tb - c / 2 * t.imag
    return rl / tot, tb / tot, qq / tot, best


def gaussian_signals(x_bar_m, y_bar_m, quad_term_m2, radius_m, plate_angle_rad):
    """Plate signals R, L, T, B of an uncoupled Gaussian beam, from its multipole series.

    A Gaussian beam's signals depend only on its centroid and on
    ``sigma_x^2 - sigma_y^2`` (``sigma_x^2 + sigma_y^2`` is invisible): the complex
    moments ``<z^n>`` are Hermite polynomials of the centroid with the pseudo-variance
    ``sigma_x^2 - sigma_y^2`` :cite:p:`tan2024booster`. The series in ``(r/a)^n`` is summed to
    order 40 or to its smallest term (it is asymptotic: the Gaussian's tails reach
    beyond the wall), far below any measurement noise for beams a few times smaller
    than the pipe.

    Parameters
    ----------
    x_bar_m, y_bar_m : array_like
        Centroid (m), broadcastable together with ``quad_term_m2``.
    quad_term_m2 : array_like
        ``sigma_x^2 - sigma_y^2`` (m^2), either sign.
    radius_m, plate_angle_rad : float
        As in :func:`plate_signals`.

    Returns
    -------
    numpy.ndarray
        Shape ``broadcast shape + (4,)``, normalised as :func:`plate_signals`.
    """
    a, phi0 = _geometry(radius_m, plate_angle_rad)
    xb = v.array("x_bar_m", x_bar_m, unit="m")
    yb = v.array("y_bar_m", y_bar_m, unit="m")
    s = v.array("quad_term_m2", quad_term_m2, unit="m^2")
    try:
        xb, yb, s = np.broadcast_arrays(xb, yb, s)
    except ValueError:
        raise InputError("quad_term_m2", quad_term_m2, "does not broadcast with x_bar_m and y_bar_m",
                         "give arrays of compatible shapes") from None
    if np.any(xb**2 + yb**2 >= a**2) or np.any(np.abs(s) >= a**2):
        raise InputError("x_bar_m", x_bar_m, f"the beam does not fit in the BPM of radius {a:g} m",
                         "give positions in metres, well inside the pipe")
    z0 = (xb + 1j * yb) / a
    m = _moments(z0, s / a**2 + 0j, 40)
    out = np.empty(xb.shape + (4,))
    for k, centre in enumerate(PLATE_CENTRES_RAD):
        total = np.full(xb.shape, phi0 / (2 * math.pi))
        best = np.full(xb.shape, np.inf)
        active = np.ones(xb.shape, bool)
        for n in range(1, 41):
            c = 2.0 / math.pi * math.sin(n * phi0 / 2) / n
            term = c * (np.conj(m[n]) * np.exp(1j * n * centre)).real
            size = np.abs(m[n])
            if n > 8:
                active &= size <= best * 10.0
            best = np.where(size > 0, np.minimum(best, size), best)
            total = total + np.where(active, term, 0.0)
        out[..., k] = total
    return out


@dataclass(frozen=True)
class Modes:
    """Dipole and quadrupole modes of a 4-plate BPM and their inversions (source Eqs. 5-6).

    Attributes
    ----------
    d_x, d_y : numpy.ndarray
        Dipole modes ``(R - L)/S`` and ``(T - B)/S``, ``S = R + L + T + B`` (1).
    q : numpy.ndarray
        Quadrupole mode ``(R + L - T - B)/S`` (1).
    delta_q : numpy.ndarray or None
        Centroid-corrected quadrupole mode ``q - phi0 cot(phi0/2)(d_x^2 - d_y^2)`` (1), Eq. 6.
    x_bar_m, y_bar_m : numpy.ndarray or None
        Leading-order centroid ``a d_x (phi0/2)/sin(phi0/2)`` (m), Eq. 5.
    quad_term_m2 : numpy.ndarray or None
        Leading-order ``sigma_x^2 - sigma_y^2 = a^2 phi0 delta_q / (2 sin phi0)`` (m^2), Eq. 6.
    x_bar_exact_m, y_bar_exact_m, quad_term_exact_m2 : numpy.ndarray or None
        The same from the full series of a Gaussian beam (only with ``exact=True``).
    radius_m, plate_angle_rad : float or None
        The geometry used for the inversions.
    """

    d_x: np.ndarray
    d_y: np.ndarray
    q: np.ndarray
    delta_q: np.ndarray | None = None
    x_bar_m: np.ndarray | None = None
    y_bar_m: np.ndarray | None = None
    quad_term_m2: np.ndarray | None = None
    x_bar_exact_m: np.ndarray | None = None
    y_bar_exact_m: np.ndarray | None = None
    quad_term_exact_m2: np.ndarray | None = None
    radius_m: float | None = None
    plate_angle_rad: float | None = None


def _leading(dx, dy, q, a, phi0):
    """Leading-order inversion (Eqs. 5, 6): centroid (m), quad term (m^2), delta_q."""
    k1 = (phi0 / 2) / math.sin(phi0 / 2)
    dq = q - phi0 / math.tan(phi0 / 2) * (dx * dx - dy * dy)
    return a * k1 * dx, a * k1 * dy, a * a * phi0 / (2 * math.sin(phi0)) * dq, dq


def modes(R, L, T, B, radius_m=None, plate_angle_rad=None, *, exact=False, tol=1e-13, max_iter=60):
    """Dipole and quadrupole modes from the plate signals, and their inversion.

    ``d_x = (R - L)/S``, ``d_y = (T - B)/S``, ``q = (R + L - T - B)/S`` with
    ``S = R + L + T + B`` (source Eq. 5 :cite:p:`tan2024booster`, after :cite:t:`miller1983`).
    With the geometry given, the leading-order inversion to the centroid and to
    ``sigma_x^2 - sigma_y^2`` with the centroid correction of Eq. 6 is added; its error is
    of relative order ``(r/a)^2`` (a few 1e-3 to 1e-2 for orbits of millimetres in a
    pipe of centimetres). ``exact=True`` also solves the full series of a Gaussian beam
    (:func:`gaussian_signals`) for the three unknowns by a fixed-point iteration on the
    leading-order inverse, to ``tol`` in the modes.

    Parameters
    ----------
    R, L, T, B : array_like
        Plate signals (any common shape; any common scale and sign).
    radius_m, plate_angle_rad : float, optional
        BPM radius (m) and plate angle (rad), both or neither.
    exact : bool
        Also compute the exact (Gaussian-beam) inversion.
    tol : float
        Convergence tolerance of the exact inversion, in units of the modes.
    max_iter : int
        Iteration limit of the exact inversion.

    Returns
    -------
    Modes

    Notes
    -----
    A ``beamkit.ConvergenceError`` is raised when the exact inversion does not reach
    ``tol`` (a beam too large for the pipe).
    """
    arrs = {}
    for name, val in (("R", R), ("L", L), ("T", T), ("B", B)):
        arrs[name] = v.array(name, val)
    v.same_shape(**arrs)
    total = arrs["R"] + arrs["L"] + arrs["T"] + arrs["B"]
    if np.any(total == 0):
        raise InputError("R", R, "R + L + T + B is zero for some sample", "give signals with beam present")
    dx = (arrs["R"] - arrs["L"]) / total
    dy = (arrs["T"] - arrs["B"]) / total
    q = (arrs["R"] + arrs["L"] - arrs["T"] - arrs["B"]) / total
    if (radius_m is None) != (plate_angle_rad is None):
        raise InputError("radius_m" if radius_m is None else "plate_angle_rad", None,
                         "is missing: the inversion needs both radius_m and plate_angle_rad",
                         "give both, or neither for the modes alone")
    if radius_m is None:
        if exact:
            raise InputError("exact", exact, "needs radius_m and plate_angle_rad", "give the BPM geometry")
        return Modes(dx, dy, q)
    a, phi0 = _geometry(radius_m, plate_angle_rad)
    tol = v.scalar("tol", tol, positive=True)
    max_iter = v.integer("max_iter", max_iter, minimum=1)
    xb, yb, s2, dq = _leading(dx, dy, q, a, phi0)
    ex = ey = es = None
    if exact:
        target = np.stack(_leading(dx, dy, q, 1.0, phi0)[:3])
        est = target.copy()
        for _ in range(max_iter):
            mx, my, mq, _ = _gaussian_modes(est[0], est[1], est[2], phi0)
            err = max(np.max(np.abs(mx - dx), initial=0), np.max(np.abs(my - dy), initial=0),
                      np.max(np.abs(mq - q), initial=0))
            if err < tol:
                break
            est = est + target - np.stack(_leading(mx, my, mq, 1.0, phi0)[:3])
        else:
            raise ConvergenceError("exact inversion of the BPM modes", err,
                                   "the beam is too large or too far off centre for this BPM")
        ex, ey, es = a * est[0], a * est[1], a * a * est[2]
    return Modes(dx, dy, q, dq, xb, yb, s2, ex, ey, es, a, phi0)
