"""Synchrotron radiation: one particle in a bend, and a ring's radiation equilibrium.

Closed forms (SI, energies in eV):

* :func:`radiated_power_w`: P = q^2 e^2 c beta^4 gamma^4 / (6 pi eps0 rho^2) for any species
  :cite:p:`oeftiger2026,jackson1999`;
* :func:`critical_frequency_rad_s`, :func:`critical_photon_energy_ev`:
  omega_c = (3/2) c gamma^3 / rho;
* :func:`spectrum`: the universal spectrum S(omega/omega_c), normalised to unit area;
* :func:`undulator_parameter`, :func:`undulator_wavelength_m`: the undulator equation and
  its harmonics.

A ring's equilibrium, :func:`ring_parameters`, from the five radiation integrals
:cite:p:`sands1970,helm1973`. beamkit computes them itself: the periodic optics come from
its own linear matrices of the elements of an :class:`xtrack.Line`, and inside each bend
the optics are carried analytically and integrated by Gauss-Legendre quadrature, so no
slicing is needed (xtrack's own integrals sample the optics once per element and need
sliced bends). Sector, rectangular (edge angles) and combined-function bends are
supported; the edge term of I4 is included.

:func:`fodo_ring` builds an electron FODO ring as an xtrack Line; :func:`to_madx` and
:func:`to_pyat` write the same ring for MAD-X and pyAT, so that the three codes can be
compared on one ring.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np
import pandas as pd
from scipy import constants as sc
from scipy import integrate, optimize, special

from . import _validate as v
from .errors import InputError, UnstableLatticeError

__all__ = [
    "C_GAMMA_M_PER_EV3",
    "C_Q_M",
    "ELECTRON_MASS_EV",
    "RadiationParameters",
    "critical_frequency_rad_s",
    "critical_photon_energy_ev",
    "fodo_ring",
    "radiated_power_w",
    "ring_parameters",
    "slice_bends",
    "spectrum",
    "to_madx",
    "to_pyat",
    "undulator_parameter",
    "undulator_wavelength_m",
]

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
    P = e^2 c gamma^4 / (6 pi eps0 rho^2) :cite:p:`oeftiger2026` is its ultra-relativistic
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

    Half of the radiated power lies below omega_c, half above :cite:p:`oeftiger2026`.

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


# --------------------------------------------------------------------------- linear optics
def _cs(kk, s):
    """C(s), S(s), C'(s), S'(s) and (1 - C)/K, (s - S)/K for x'' + K x = 0 (K may be 0)."""
    if abs(kk) * s * s < 1e-8:
        # Taylor series to the order that is exact in double precision for |K| s^2 < 1e-8.
        c = 1 - kk * s**2 / 2 + kk**2 * s**4 / 24
        sn = s - kk * s**3 / 6 + kk**2 * s**5 / 120
        cp = -kk * s + kk**2 * s**3 / 6
        sp = c
        one_minus_c_over_k = s**2 / 2 - kk * s**4 / 24
        return c, sn, cp, sp, one_minus_c_over_k
    if kk > 0:
        r = math.sqrt(kk)
        c, sn, cp = math.cos(r * s), math.sin(r * s) / r, -r * math.sin(r * s)
    else:
        r = math.sqrt(-kk)
        c, sn, cp = math.cosh(r * s), math.sinh(r * s) / r, r * math.sinh(r * s)
    return c, sn, cp, c, (1 - c) / kk


def _body_matrix(kk, h, s):
    """3x3 matrix (x, x', delta) of a body with focusing K and curvature h over length s."""
    c, sn, cp, sp, omc = _cs(kk, s)
    # dispersion generated: d = h (1 - C)/K, d' = h S
    return np.array([[c, sn, h * omc], [cp, sp, h * sn], [0.0, 0.0, 1.0]])


def _thin_quad(k1l):
    return np.array([[1.0, 0.0, 0.0], [-k1l, 1.0, 0.0], [0.0, 0.0, 1.0]])


@dataclass(frozen=True)
class _Bend:
    index: int
    name: str
    length_m: float
    h_per_m: float
    k1: float
    e1_rad: float
    e2_rad: float


_PASSIVE = ("Marker", "Drift", "Cavity", "LimitRect", "LimitEllipse", "LimitRectEllipse",
            "LimitRacetrack", "LimitPolygon", "Sextupole", "Octupole", "Solenoid")


def _check_aligned(name, el):
    for attr in ("shift_x", "shift_y", "rot_s_rad", "rot_x_rad", "rot_y_rad"):
        if abs(float(getattr(el, attr, 0.0) or 0.0)) > 0:
            raise InputError(f"line['{name}'].{attr}", getattr(el, attr),
                             "misaligned or tilted elements are not supported (uncoupled optics only)",
                             "set the misalignment to 0 or use xtrack's twiss for coupled rings")


def _line_model(line):
    """List of (kind, 3x3 x-matrix, 2x2 y-matrix, bend or None) and the bends, from the line."""
    items = []
    bends = []
    for i, name in enumerate(line.element_names):
        el = line.element_dict[name]
        cls = type(el).__name__
        length = float(getattr(el, "length", 0.0) or 0.0)
        if cls in ("Sextupole", "Octupole", "Solenoid"):
            _check_aligned(name, el)
            if cls == "Solenoid" and abs(float(getattr(el, "ks", 0.0))) > 0:
                raise InputError(f"line['{name}'].ks", el.ks, "solenoids couple the planes: not supported",
                                 "switch the solenoid off (ks = 0)")
        if cls in _PASSIVE:
            mx = _body_matrix(0.0, 0.0, length)
            items.append((mx, mx[:2, :2]))
            continue
        if cls == "Quadrupole":
            _check_aligned(name, el)
            if abs(float(el.k1s)) > 0 or np.any(np.asarray(el.ksl) != 0) or np.any(np.asarray(el.knl) != 0):
                raise InputError(f"line['{name}']", el,
                                 "skew or extra multipole components are not supported",
                                 "use a plain normal quadrupole (k1 only)")
            k1 = float(el.k1)
            items.append((_body_matrix(k1, 0.0, length), _body_matrix(-k1, 0.0, length)[:2, :2]))
            continue
        if cls == "Multipole":
            knl = np.asarray(el.knl, dtype=float)
            ksl = np.asarray(el.ksl, dtype=float)
            if abs(float(el.hxl)) > 0 or (knl.size and knl[0] != 0):  # before the alignment check
                raise InputError(f"line['{name}']", el,
                                 "a thin dipole kick (knl[0] or hxl) has an infinite field: its radiation "
                                 "integrals are undefined", "model bends as thick xt.Bend elements")
            if np.any(ksl != 0):
                raise InputError(f"line['{name}'].ksl", ksl, "skew multipoles are not supported",
                                 "set ksl to 0 (uncoupled optics only)")
            k1l = float(knl[1]) if knl.size > 1 else 0.0
            m = _thin_quad(k1l)
            items.append((m, _thin_quad(-k1l)[:2, :2]))
            continue
        if cls == "Bend":
            _check_aligned(name, el)
            h = float(el.h)
            k0 = h if bool(el.k0_from_h) else float(el.k0)
            if abs(k0 - h) > 1e-12 * max(abs(h), 1e-300):
                raise InputError(f"line['{name}'].k0", k0,
                                 f"differs from the curvature h = {h:g} 1/m; only bends on the reference "
                                 "orbit (k0 = h) are supported", "set k0_from_h=True")
            if np.any(np.asarray(el.knl) != 0) or np.any(np.asarray(el.ksl) != 0) or abs(float(el.k2)) > 0:
                raise InputError(f"line['{name}']", el, "extra multipoles in a bend are not supported",
                                 "use k1 for a combined-function bend and separate sextupoles")
            if length <= 0:
                raise InputError(f"line['{name}'].length", length, "a bend must be thick", "give length > 0")
            b = _Bend(i, name, length, h, float(el.k1), float(el.edge_entry_angle), float(el.edge_exit_angle))
            if h == 0:
                kx = float(el.k1)
                items.append((_body_matrix(kx, 0.0, length), _body_matrix(-kx, 0.0, length)[:2, :2]))
                continue
            bends.append(b)
            items.append(b)
            continue
        raise InputError(f"line['{name}']", cls,
                         "is an element type ring_parameters does not model",
                         "use Drift, Bend (sector, edges, k1), Quadrupole, Multipole (thin quadrupole), "
                         "Sextupole, Cavity, Marker; give the thick (unsliced) line")
    return items, bends


def _bend_pieces(b):
    """(entry edge x-matrix, body x-matrix, exit edge x-matrix, same for y) of a bend."""
    t1, t2 = math.tan(b.e1_rad) * b.h_per_m, math.tan(b.e2_rad) * b.h_per_m
    kx, ky = b.h_per_m**2 + b.k1, -b.k1
    return (_thin_quad(-t1), _body_matrix(kx, b.h_per_m, b.length_m), _thin_quad(-t2),
            _thin_quad(t1)[:2, :2], _body_matrix(ky, 0.0, b.length_m)[:2, :2], _thin_quad(t2)[:2, :2])


def _matrices(items):
    mats_x, mats_y = [], []
    for it in items:
        if isinstance(it, _Bend):
            e1x, bx, e2x, e1y, by, e2y = _bend_pieces(it)
            mats_x.append(e2x @ bx @ e1x)
            mats_y.append(e2y @ by @ e1y)
        else:
            mats_x.append(it[0])
            mats_y.append(it[1])
    return mats_x, mats_y


def _periodic(m2, plane):
    tr = m2[0, 0] + m2[1, 1]
    if not abs(tr) < 2:
        raise UnstableLatticeError(tr, plane, "ring_parameters needs a stable periodic solution")
    if 2 - abs(tr) < 1e-9:
        # |sin(mu)| < 3e-5: on an integer or half-integer resonance, the periodic solution is lost in rounding
        raise UnstableLatticeError(tr, plane, "the tune is on an integer or half-integer resonance")
    cos_mu = tr / 2
    sin_mu = math.copysign(math.sqrt(1 - cos_mu**2), m2[0, 1])
    beta = m2[0, 1] / sin_mu
    alpha = (m2[0, 0] - m2[1, 1]) / (2 * sin_mu)
    return beta, alpha


def _twiss_step(m, beta, alpha):
    gamma = (1 + alpha**2) / beta
    c, s, cp, sp = m[0, 0], m[0, 1], m[1, 0], m[1, 1]
    beta1 = c * c * beta - 2 * c * s * alpha + s * s * gamma
    alpha1 = -c * cp * beta + (c * sp + s * cp) * alpha - s * sp * gamma
    return beta1, alpha1


_GL_X, _GL_W = np.polynomial.legendre.leggauss(24)


def _bend_integrals(b, beta, alpha, d, dp):
    """I1..I5 of one bend from the optics at its entrance (before the entry edge).

    Returns the integrals and the optics at the exit (after the exit edge).
    """
    e1x, bx, e2x, *_ = _bend_pieces(b)
    h, kx = b.h_per_m, b.h_per_m**2 + b.k1
    # entry edge (thin defocusing lens k1l = -h tan e1)
    beta0, alpha0 = _twiss_step(e1x, beta, alpha)
    d0, dp0 = d, dp + d * h * math.tan(b.e1_rad)
    vals = np.zeros(5)
    for xg, wg in zip(_GL_X, _GL_W):
        s = 0.5 * b.length_m * (xg + 1)
        m = _body_matrix(kx, h, s)
        bs, as_ = _twiss_step(m, beta0, alpha0)
        ds = m[0, 0] * d0 + m[0, 1] * dp0 + m[0, 2]
        dps = m[1, 0] * d0 + m[1, 1] * dp0 + m[1, 2]
        curly_h = ((1 + as_**2) / bs) * ds**2 + 2 * as_ * ds * dps + bs * dps**2
        w = 0.5 * b.length_m * wg
        vals += w * np.array([ds * h, h * h, abs(h) ** 3, ds * h * (h * h + 2 * b.k1), abs(h) ** 3 * curly_h])
    bl, al = _twiss_step(bx, beta0, alpha0)
    dl = bx[0, 0] * d0 + bx[0, 1] * dp0 + bx[0, 2]
    dpl = bx[1, 0] * d0 + bx[1, 1] * dp0 + bx[1, 2]
    # edge terms of I4: -D h^2 tan(e) at each face :cite:p:`helm1973`
    vals[3] -= h * h * (d0 * math.tan(b.e1_rad) + dl * math.tan(b.e2_rad))
    beta2, alpha2 = _twiss_step(e2x, bl, al)
    return vals, (beta2, alpha2, dl, dpl + dl * h * math.tan(b.e2_rad))


# --------------------------------------------------------------------------- ring parameters
@dataclass(frozen=True)
class RadiationParameters:
    """Radiation integrals and equilibrium of an electron or positron ring.

    Attributes
    ----------
    I1 : float
        int D_x / rho ds (m).
    I2 : float
        int 1 / rho^2 ds (1/m).
    I3 : float
        int 1 / |rho|^3 ds (1/m^2).
    I4 : float
        int D_x / rho (1 / rho^2 + 2 k1) ds minus the pole-face terms D_x tan(e) / rho^2 (1/m).
    I5 : float
        int H_x / |rho|^3 ds, H_x = gamma_x D^2 + 2 alpha_x D D' + beta_x D'^2 (1/m).
    U0_eV : float
        Energy radiated per turn, C_gamma E^4 I2 / (2 pi) (eV).
    Jx, Jy, Jz : float
        Damping partition numbers 1 - I4/I2, 1, 2 + I4/I2 (their sum is 4).
    tau_x_s, tau_y_s, tau_z_s : float
        Amplitude damping times 2 E T0 / (J U0) (s).
    eps_x_m : float
        Equilibrium horizontal emittance C_q gamma^2 I5 / (Jx I2) (m).
    sigma_delta : float
        Equilibrium RMS relative energy spread sqrt(C_q gamma^2 I3 / (Jz I2)).
    energy_ev, gamma0 : float
        Beam energy (eV) and Lorentz factor.
    circumference_m, revolution_period_s : float
        Ring length (m) and revolution period (s).
    alpha_c : float
        Momentum compaction I1 / C.
    q_x, q_y : float
        Betatron tunes from beamkit's matrices.
    """

    I1: float
    I2: float
    I3: float
    I4: float
    I5: float
    U0_eV: float
    Jx: float
    Jy: float
    Jz: float
    tau_x_s: float
    tau_y_s: float
    tau_z_s: float
    eps_x_m: float
    sigma_delta: float
    energy_ev: float
    gamma0: float
    circumference_m: float
    revolution_period_s: float
    alpha_c: float
    q_x: float
    q_y: float

    def to_frame(self):
        """One row per quantity: ``quantity``, ``value``, ``unit``."""
        units = {"I1": "m", "I2": "1/m", "I3": "1/m^2", "I4": "1/m", "I5": "1/m", "U0_eV": "eV",
                 "tau_x_s": "s", "tau_y_s": "s", "tau_z_s": "s", "eps_x_m": "m", "energy_ev": "eV",
                 "circumference_m": "m", "revolution_period_s": "s"}
        rows = [(f.name, getattr(self, f.name), units.get(f.name, "1")) for f in fields(self)]
        return pd.DataFrame(rows, columns=["quantity", "value", "unit"])


def _reference(line):
    ref = getattr(line, "particle_ref", None)
    if ref is None:
        raise InputError("line.particle_ref", None, "is not set", "set line.particle_ref = xt.Particles(...)")
    mass_ev = float(ref.mass0)
    q0 = float(ref.q0)
    if abs(mass_ev / ELECTRON_MASS_EV - 1) > 1e-6 or abs(abs(q0) - 1) > 0:
        raise InputError("line.particle_ref", f"mass0 = {mass_ev:g} eV, q0 = {q0:g}",
                         "the equilibrium emittance and energy spread are computed for electrons and "
                         "positrons only (a proton ring hardly radiates and has no radiation equilibrium)",
                         "use radiated_power_w for other species")
    return float(ref.energy0[0]), float(ref.gamma0[0]), float(ref.beta0[0])


def ring_parameters(line):
    """Radiation integrals, energy loss, damping and equilibrium of an electron ring.

    The periodic optics (beta_x, alpha_x, D_x, D'_x) are computed from beamkit's own linear
    matrices of the line's elements; inside each bend they are carried analytically and the
    integrands integrated with 24-point Gauss-Legendre quadrature (exact to rounding for
    these smooth functions), so the thick line needs no slicing. Formulas of
    :cite:t:`sands1970` and :cite:t:`helm1973`, with the pole-face term of I4.

    Parameters
    ----------
    line : xtrack.Line
        A closed ring (thick, unsliced), uncoupled and flat (horizontal bends), with
        ``particle_ref`` an electron or positron. Elements: ``Drift``, ``Bend`` (sector,
        ``edge_entry_angle``/``edge_exit_angle`` for rectangular magnets, ``k1`` for
        combined-function magnets), ``Quadrupole``, ``Multipole`` (thin quadrupole),
        ``Sextupole``, ``Octupole``, ``Cavity``, ``Marker``. The line is not modified.

    Returns
    -------
    RadiationParameters

    Raises
    ------
    InputError
        Not an electron/positron ring, no bends, unsupported elements.
    UnstableLatticeError
        No periodic solution in x or y.
    """
    if not hasattr(line, "element_names") or not hasattr(line, "particle_ref"):
        raise InputError("line", line, "must be an xtrack.Line", "build the ring as an xtrack Line")
    energy_ev, gamma0, beta0 = _reference(line)
    items, bends = _line_model(line)
    if not bends:
        raise InputError("line", f"{len(items)} elements", "has no bends (no Bend with angle != 0): "
                         "nothing radiates", "give a ring with its bending magnets")
    mats_x, mats_y = _matrices(items)
    mx, my = np.eye(3), np.eye(2)
    for a, b in zip(mats_x, mats_y):
        mx, my = a @ mx, b @ my
    beta_x, alpha_x = _periodic(mx[:2, :2], "x")
    _periodic(my, "y")
    disp = np.linalg.solve(np.eye(2) - mx[:2, :2], mx[:2, 2])
    # tunes from the phase advance accumulated element by element
    state = (beta_x, alpha_x, float(disp[0]), float(disp[1]))
    ints = np.zeros(5)
    q = {}
    for plane, mats in (("x", mats_x), ("y", mats_y)):
        bt, al = _periodic((mx[:2, :2] if plane == "x" else my), plane)
        mu = 0.0
        for m in mats:
            m2 = m[:2, :2]
            mu += math.atan2(m2[0, 1], m2[0, 0] * bt - m2[0, 1] * al)
            bt, al = _twiss_step(m2, bt, al)
        q[plane] = mu / (2 * math.pi)
    for it, m in zip(items, mats_x):
        beta, alpha, d, dp = state
        if isinstance(it, _Bend):
            vals, state = _bend_integrals(it, beta, alpha, d, dp)
            ints += vals
        else:
            b1, a1 = _twiss_step(m[:2, :2], beta, alpha)
            state = (b1, a1, m[0, 0] * d + m[0, 1] * dp + m[0, 2], m[1, 0] * d + m[1, 1] * dp + m[1, 2])
    i1, i2, i3, i4, i5 = (float(x) for x in ints)
    circumference_m = float(line.get_length())
    t0 = circumference_m / (beta0 * sc.c)
    u0 = C_GAMMA_M_PER_EV3 * energy_ev**4 * i2 / (2 * math.pi)
    jx, jy, jz = 1 - i4 / i2, 1.0, 2 + i4 / i2
    if jx <= 0 or jz <= 0:
        raise UnstableLatticeError(2.0, "x" if jx <= 0 else "z",
                                   f"radiation anti-damping: Jx = {jx:.4g}, Jz = {jz:.4g}; no equilibrium")
    tau = [2 * energy_ev * t0 / (j * u0) for j in (jx, jy, jz)]
    eps_x = C_Q_M * gamma0**2 * i5 / (jx * i2)
    sigma_delta = math.sqrt(C_Q_M * gamma0**2 * i3 / (jz * i2))
    return RadiationParameters(i1, i2, i3, i4, i5, u0, jx, jy, jz, *tau, eps_x, sigma_delta, energy_ev,
                               gamma0, circumference_m, t0, i1 / circumference_m, q["x"], q["y"])


# --------------------------------------------------------------------------- an example ring
def fodo_ring(n_cells=24, cell_length_m=10.0, mu_cell_rad=1.3962634015954636, energy_ev=2.5e9, *,
              bend_fill=0.5, quad_length_m=0.4, bend_type="sector", bend_k1=0.0,
              rf_voltage_v=None, harmonic=400, particle="electron"):
    """An electron (positron) FODO ring as an :class:`xtrack.Line`, natively built.

    Each cell: QF/2 - drift - B - drift - QD - drift - B - drift - QF/2, bends of angle
    pi / n_cells each (2 n_cells bends close the ring); QF = -QD strengths are set so that
    the horizontal cell phase advance is ``mu_cell_rad`` (found with beamkit's matrices).

    Parameters
    ----------
    n_cells : int
        Number of cells, >= 4.
    cell_length_m : float
        Cell length (m).
    mu_cell_rad : float
        Horizontal phase advance per cell (rad), in (0, pi); 80 degrees by default.
    energy_ev : float
        Total beam energy (eV).
    bend_fill : float
        Fraction of the half-cell free length (between quadrupoles) filled by the bend, (0, 1).
    quad_length_m : float
        Length of QD (QF is split in two halves) (m).
    bend_type : {"sector", "rectangular"}
        Rectangular bends have pole-face angles of half the bend angle at each end.
    bend_k1 : float
        Gradient k1 of the bends (1/m^2), for combined-function bends.
    rf_voltage_v : float, optional
        Adds an RF cavity (V) at the start, harmonic ``harmonic``, phased for electrons
        above transition; needed by the eigen-analysis codes (xtrack 6D, MAD-X emit, pyAT).
    harmonic : int
        RF harmonic number.
    particle : {"electron", "positron"}

    Returns
    -------
    xtrack.Line
    """
    import xtrack as xt

    n = v.integer("n_cells", n_cells, minimum=4)
    lc = v.scalar("cell_length_m", cell_length_m, positive=True, unit="m")
    mu = v.scalar("mu_cell_rad", mu_cell_rad, greater_than=0.0, maximum=math.pi - 1e-6, unit="rad")
    energy_ev = v.scalar("energy_ev", energy_ev, greater_than=ELECTRON_MASS_EV, unit="eV")
    fill = v.scalar("bend_fill", bend_fill, greater_than=0.0, maximum=1.0)
    lq = v.scalar("quad_length_m", quad_length_m, positive=True, unit="m")
    v.choice("bend_type", bend_type, ("sector", "rectangular"))
    bend_k1 = v.scalar("bend_k1", bend_k1, unit="1/m^2")
    v.choice("particle", particle, ("electron", "positron"))
    harmonic = v.integer("harmonic", harmonic, minimum=1)
    if rf_voltage_v is not None:
        rf_voltage_v = v.scalar("rf_voltage_v", rf_voltage_v, positive=True, unit="V")
    free = lc / 2 - lq
    if free <= 0:
        raise InputError("quad_length_m", lq, f"quadrupoles do not fit in a {lc:g} m cell", "shorten them")
    lb = fill * free
    gap = (free - lb) / 2
    angle = math.pi / n
    edge = angle / 2 if bend_type == "rectangular" else 0.0

    def cell_elements(k1, tag):
        els = [
            (f"qf1{tag}", xt.Quadrupole(length=lq / 2, k1=k1)),
            (f"d1{tag}", xt.Drift(length=gap)),
            (f"b1{tag}", xt.Bend(length=lb, angle=angle, k0_from_h=True, k1=bend_k1,
                                 edge_entry_angle=edge, edge_exit_angle=edge)),
            (f"d2{tag}", xt.Drift(length=gap)),
            (f"qd{tag}", xt.Quadrupole(length=lq, k1=-k1)),
            (f"d3{tag}", xt.Drift(length=gap)),
            (f"b2{tag}", xt.Bend(length=lb, angle=angle, k0_from_h=True, k1=bend_k1,
                                 edge_entry_angle=edge, edge_exit_angle=edge)),
            (f"d4{tag}", xt.Drift(length=gap)),
            (f"qf2{tag}", xt.Quadrupole(length=lq / 2, k1=k1)),
        ]
        return els

    mass_ev = ELECTRON_MASS_EV
    beta0 = math.sqrt(1 - (mass_ev / energy_ev) ** 2)
    q0 = -1 if particle == "electron" else 1

    def make(k1, cells, rf):
        names, elements = [], []
        if rf:
            names.append("rf")
            elements.append(xt.Cavity(voltage=rf_voltage_v, frequency=harmonic * beta0 * sc.c / (n * lc),
                                      phase=math.pi))
        for c in range(cells):
            for nm, el in cell_elements(k1, f"_{c}"):
                names.append(nm)
                elements.append(el)
        line = xt.Line(elements=elements, element_names=names)
        line.particle_ref = xt.Particles(mass0=mass_ev, q0=q0, energy0=energy_ev)
        return line

    def mismatch(k1):
        bend = _Bend(0, "b", lb, angle / lb, bend_k1, edge, edge)
        quad = [_body_matrix(k1, 0.0, lq / 2), _body_matrix(-k1, 0.0, lq)]
        drift = _body_matrix(0.0, 0.0, gap)
        items = [(quad[0], None), (drift, None), bend, (drift, None), (quad[1], None), (drift, None), bend,
                 (drift, None), (quad[0], None)]
        m = np.eye(3)
        for a in _matrices(items)[0]:
            m = a @ m
        return (m[0, 0] + m[1, 1]) / 2 - math.cos(mu)

    # thin-lens start: k1 lq = 4 sin(mu/2) / L; bracket by scanning up to the stability edge
    k_guess = 4 * math.sin(mu / 2) / (lc * lq)
    ks = np.linspace(1e-4, 3, 300) * k_guess
    f = np.array([mismatch(k) for k in ks])
    sign = np.nonzero(np.diff(np.sign(f)) != 0)[0]
    if sign.size == 0:
        raise InputError("mu_cell_rad", mu, "cannot be reached with these cell parameters",
                         "choose a smaller phase advance or longer quadrupoles")
    j = sign[0]
    k1 = optimize.brentq(mismatch, ks[j], ks[j + 1], xtol=1e-15, rtol=1e-14)
    line = make(k1, n, rf_voltage_v is not None)
    return line


def slice_bends(line, n_slices):
    """A copy of ``line`` with every bend cut into ``n_slices`` thick slices (for xtrack's integrals).

    xtrack evaluates its radiation integrals once per element, at the element's entrance;
    slicing the bends is how its answer converges to the exact one.

    Parameters
    ----------
    line : xtrack.Line
        Not modified.
    n_slices : int
        Thick slices per bend (Teapot spacing), >= 1.

    Returns
    -------
    xtrack.Line
    """
    import xtrack as xt

    n = v.integer("n_slices", n_slices, minimum=1)
    if not hasattr(line, "slice_thick_elements"):
        raise InputError("line", line, "must be an xtrack.Line", "build the ring as an xtrack Line")
    out = line.copy()
    out.slice_thick_elements(slicing_strategies=[
        xt.Strategy(slicing=None),
        xt.Strategy(slicing=xt.Teapot(n, mode="thick"), element_type=xt.Bend),
    ])
    return out


# --------------------------------------------------------------------------- other codes
def _element_table(line):
    s = np.asarray(line.get_table().rows[list(line.element_names)].s)
    return [(name, line.element_dict[name], float(s[i])) for i, name in enumerate(line.element_names)]


def to_madx(line, sequence="ring"):
    """MAD-X input (a sequence and a ``beam`` command) for a line of :func:`fodo_ring`'s kinds.

    Bends become ``sbend`` (``angle``, ``k1``, ``e1``, ``e2``), thick quadrupoles
    ``quadrupole``, thin quadrupoles ``multipole``, cavities ``rfcavity`` (``volt`` in MV,
    ``harmon``, ``lag`` in turns); drifts are left as gaps. The beam is ``radiate``-ready
    (add ``beam, radiate;`` to switch radiation on for ``emit``).

    Parameters
    ----------
    line : xtrack.Line
    sequence : str
        Name of the MAD-X sequence.

    Returns
    -------
    str
    """
    energy_ev, _, _ = _reference(line)
    if not (isinstance(sequence, str) and sequence.isidentifier()):
        raise InputError("sequence", sequence, "must be a MAD-X name (letters, digits, _)", "e.g. 'ring'")
    _line_model(line)  # refuses what we cannot write
    out = [f"{sequence}: sequence, l = {float(line.get_length())!r}, refer = entry;"]
    h_total = 0
    for name, el, s in _element_table(line):
        cls = type(el).__name__
        mname = name.replace(".", "_")
        if cls == "Bend":
            out.append(f"  {mname}: sbend, l = {float(el.length)!r}, angle = {float(el.angle)!r}, "
                       f"k1 = {float(el.k1)!r}, e1 = {float(el.edge_entry_angle)!r}, "
                       f"e2 = {float(el.edge_exit_angle)!r}, at = {s!r};")
        elif cls == "Quadrupole":
            out.append(f"  {mname}: quadrupole, l = {float(el.length)!r}, k1 = {float(el.k1)!r}, at = {s!r};")
        elif cls == "Sextupole":
            out.append(f"  {mname}: sextupole, l = {float(el.length)!r}, k2 = {float(el.k2)!r}, at = {s!r};")
        elif cls == "Multipole":
            out.append(f"  {mname}: multipole, knl = {{0, {float(el.knl[1])!r}}}, at = {s!r};")
        elif cls == "Cavity":
            h_total = float(el.frequency) * float(line.get_length()) / sc.c
            lag = (float(el.phase) / (2 * math.pi) + float(el.lag) / 360.0) % 1.0
            out.append(f"  {mname}: rfcavity, l = {float(el.length)!r}, volt = {float(el.voltage) / 1e6!r}, "
                       f"harmon = {round(h_total)}, lag = {lag!r}, at = {s!r};")
        elif cls == "Marker":
            out.append(f"  {mname}: marker, at = {s!r};")
    out.append("endsequence;")
    particle = "electron" if float(line.particle_ref.q0) < 0 else "positron"
    out.append(f"beam, particle = {particle}, energy = {energy_ev / 1e9!r};")
    return "\n".join(out) + "\n"


def to_pyat(line, n_int_steps=10):
    """The same ring as a pyAT :class:`at.Lattice` (accelerator-toolbox).

    Parameters
    ----------
    line : xtrack.Line
    n_int_steps : int
        ``NumIntSteps`` of pyAT's 4th-order symplectic integrator in bends and quadrupoles
        (the slicing of its tracking, hence of its envelope emittance).

    Returns
    -------
    at.Lattice
        Radiation off (call ``enable_6d()`` for the envelope).
    """
    import at

    energy_ev, _, _ = _reference(line)
    n_int_steps = v.integer("n_int_steps", n_int_steps, minimum=1)
    _line_model(line)
    els = []
    for name, el, _ in _element_table(line):
        cls = type(el).__name__
        if cls == "Bend":
            els.append(at.Dipole(name, float(el.length), float(el.angle), float(el.k1),
                                 EntranceAngle=float(el.edge_entry_angle),
                                 ExitAngle=float(el.edge_exit_angle), NumIntSteps=n_int_steps))
        elif cls == "Quadrupole":
            els.append(at.Quadrupole(name, float(el.length), float(el.k1), NumIntSteps=n_int_steps))
        elif cls == "Drift":
            els.append(at.Drift(name, float(el.length)))
        elif cls == "Sextupole":
            els.append(at.Sextupole(name, float(el.length), float(el.k2)))
        elif cls == "Multipole":
            els.append(at.ThinMultipole(name, [0.0, 0.0], [0.0, float(el.knl[1])]))
        elif cls == "Cavity":
            h = round(float(el.frequency) * float(line.get_length()) / sc.c)
            els.append(at.RFCavity(name, float(el.length), float(el.voltage), float(el.frequency), h,
                                   energy_ev))
        elif cls == "Marker":
            els.append(at.Marker(name))
    particle = "electron" if float(line.particle_ref.q0) < 0 else "positron"
    return at.Lattice(els, name="ring", energy=energy_ev, periodicity=1, particle=particle)
