"""Closed forms for one radiating particle (see :mod:`beamkit.radiation`)."""

from __future__ import annotations

import math

import numpy as np
from scipy import constants as sc
from scipy import integrate, special

from .. import _validate as v
from ..errors import InputError

#: Electron rest energy (eV), CODATA (scipy.constants).
ELECTRON_MASS_EV = sc.physical_constants["electron mass energy equivalent in MeV"][0] * 1e6
_R_E_M = sc.physical_constants["classical electron radius"][0]
#: Sands' radiation constant C_gamma = 4 pi r_e / (3 (m_e c^2)^3) (m / eV^3), 8.846e-5 m/GeV^3.
C_GAMMA_M_PER_EV3 = 4 * math.pi * _R_E_M / (3 * ELECTRON_MASS_EV**3)
#: Quantum constant C_q = 55 hbar c / (32 sqrt(3) m_e c^2) (m), 3.832e-13 m.
C_Q_M = 55 * sc.hbar * sc.c / (32 * math.sqrt(3) * ELECTRON_MASS_EV * sc.e)


# --------------------------------------------------------------------------- single particle
def _gamma(energy_ev, mass_ev):
    energy_ev = v.scalar("energy_ev", energy_ev, positive=True, unit="eV")
    mass_ev = v.scalar("mass_ev", mass_ev, positive=True, unit="eV")
    if energy_ev <= mass_ev:
        raise InputError("energy_ev", energy_ev,
                         f"is the TOTAL energy and must exceed mass_ev = {mass_ev:g} eV",
                         "give the total energy (kinetic + rest) in eV")
    return energy_ev / mass_ev


def radiated_power_w(energy_ev, rho_m, mass_ev=ELECTRON_MASS_EV, q0=1.0):
    """Power radiated by one particle on a circle of radius ``rho_m`` (W).

    P = q0^2 e^2 c beta^4 gamma^4 / (6 pi eps0 rho^2) :cite:p:`jackson1999`; the lecture's
    P = e^2 c gamma^4 / (6 pi eps0 rho^2) :cite:p:`oeftiger2026lecture6` is its ultra-relativistic
    limit. At equal energy and radius P scales as 1 / mass^4.

    Parameters
    ----------
    energy_ev : float or array_like
        Total energy of the particle (eV), above ``mass_ev``.
    rho_m : float
        Bending radius (m), > 0.
    mass_ev : float
        Rest energy (eV); the electron's by default (938.272e6 for a proton).
    q0 : float
        Charge in units of e (its sign does not matter).

    Returns
    -------
    float or numpy.ndarray
        Radiated power (W).
    """
    mass_ev = v.scalar("mass_ev", mass_ev, positive=True, unit="eV")
    rho_m = v.scalar("rho_m", rho_m, positive=True, unit="m")
    q0 = v.scalar("q0", q0, unit="e")
    if q0 == 0:
        raise InputError("q0", q0, "a neutral particle does not radiate", "give the charge in units of e")
    e = np.atleast_1d(v.array("energy_ev", energy_ev, ndim=(0, 1), positive=True, unit="eV"))
    if np.any(e <= mass_ev):
        raise InputError("energy_ev", energy_ev,
                         f"is the TOTAL energy and must exceed mass_ev = {mass_ev:g} eV",
                         "give the total energy (kinetic + rest) in eV")
    gamma = e / mass_ev
    beta2 = 1.0 - 1.0 / gamma**2
    p = (q0 * sc.e) ** 2 * sc.c * beta2**2 * gamma**4 / (6 * math.pi * sc.epsilon_0 * rho_m**2)
    return p if np.ndim(energy_ev) else float(p[0])


def critical_frequency_rad_s(energy_ev, rho_m, mass_ev=ELECTRON_MASS_EV):
    """Critical angular frequency omega_c = (3/2) c gamma^3 / rho (rad/s).

    Half of the radiated power lies below omega_c, half above :cite:p:`oeftiger2026lecture6`.

    Parameters
    ----------
    energy_ev : float
        Total energy (eV).
    rho_m : float
        Bending radius (m).
    mass_ev : float
        Rest energy (eV), the electron's by default.
    """
    gamma = _gamma(energy_ev, mass_ev)
    rho_m = v.scalar("rho_m", rho_m, positive=True, unit="m")
    return 1.5 * sc.c * gamma**3 / rho_m


def critical_photon_energy_ev(energy_ev, rho_m, mass_ev=ELECTRON_MASS_EV):
    """Critical photon energy hbar omega_c (eV); 2.218 keV x E[GeV]^3 / rho[m] for electrons.

    Parameters as :func:`critical_frequency_rad_s`.
    """
    return sc.hbar * critical_frequency_rad_s(energy_ev, rho_m, mass_ev) / sc.e


_S_NORM = 9 * math.sqrt(3) / (8 * math.pi)


def _int_k53(x):
    """int_x^inf K_{5/3}(t) dt for x > 0 (quadrature; K decays like exp(-t))."""
    val, _ = integrate.quad(lambda t: special.kv(5.0 / 3.0, t), x, np.inf, epsabs=0, epsrel=1e-12, limit=200)
    return val


def spectrum(x):
    """Universal synchrotron power spectrum S(x), x = omega / omega_c, with int_0^inf S dx = 1.

    S(x) = 9 sqrt(3) / (8 pi) x int_x^inf K_{5/3}(t) dt :cite:p:`jackson1999,wiedemann2015`;
    dP/d(omega) = (P / omega_c) S(omega / omega_c). Its median is x = 1 (the definition of
    the critical frequency) and the mean photon energy is 8 / (15 sqrt 3) hbar omega_c.

    Parameters
    ----------
    x : float or array_like
        omega / omega_c, >= 0 (dimensionless).

    Returns
    -------
    float or numpy.ndarray
        S(x), per unit x.
    """
    xs = v.array("x", x, ndim=(0, 1), nonnegative=True, fix="give omega / omega_c >= 0")
    flat = np.atleast_1d(xs)
    out = np.array([_S_NORM * xi * _int_k53(xi) if xi > 0 else 0.0 for xi in flat])
    return out if xs.ndim else float(out[0])


def undulator_parameter(b_peak_t, period_m, mass_ev=ELECTRON_MASS_EV):
    """Undulator deflection parameter K = e B0 lambda_u / (2 pi m c) (0.934 B[T] lambda_u[cm]).

    Parameters
    ----------
    b_peak_t : float
        Peak on-axis field (T), > 0.
    period_m : float
        Undulator period lambda_u (m), > 0.
    mass_ev : float
        Rest energy (eV), the electron's by default.
    """
    b = v.scalar("b_peak_t", b_peak_t, positive=True, unit="T")
    lam = v.scalar("period_m", period_m, positive=True, unit="m")
    mass_ev = v.scalar("mass_ev", mass_ev, positive=True, unit="eV")
    v.plausible("period_m", lam, 1e-3, 1.0, "m", "undulator periods are mm to cm: give metres")
    return sc.c * b * lam / (2 * math.pi * mass_ev)


def undulator_wavelength_m(period_m, k_undulator, gamma0, harmonic=1, theta_rad=0.0):
    """The undulator equation: lambda_n = lambda_u / (2 n gamma^2) (1 + K^2/2 + gamma^2 theta^2).

    :cite:p:`wiedemann2015`. On axis only odd harmonics n are emitted.

    Parameters
    ----------
    period_m : float
        Undulator period (m).
    k_undulator : float
        Deflection parameter K (:func:`undulator_parameter`), >= 0.
    gamma0 : float
        Lorentz factor of the beam, > 1.
    harmonic : int
        Harmonic number n >= 1.
    theta_rad : float
        Observation angle from the axis (rad).

    Returns
    -------
    float
        Wavelength (m).
    """
    lam = v.scalar("period_m", period_m, positive=True, unit="m")
    k = v.scalar("k_undulator", k_undulator, nonnegative=True)
    g = v.scalar("gamma0", gamma0, greater_than=1.0)
    n = v.integer("harmonic", harmonic, minimum=1)
    th = v.scalar("theta_rad", theta_rad, unit="rad")
    return lam / (2 * n * g**2) * (1 + k**2 / 2 + (g * th) ** 2)
