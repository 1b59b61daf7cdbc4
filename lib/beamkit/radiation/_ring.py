"""Linear optics of a line and its radiation integrals (see :mod:`beamkit.radiation`)."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np
import pandas as pd
from scipy import constants as sc

from ..errors import InputError, UnstableLatticeError
from ._single import C_GAMMA_M_PER_EV3, C_Q_M, ELECTRON_MASS_EV


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
        if cls == "RBend":
            raise InputError(f"line['{name}']", cls, "xt.RBend is not modelled",
                             "give the rectangular magnet as xt.Bend with edge_entry_angle = "
                             "edge_exit_angle = angle / 2 (and its arc length)")
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
        int 1 / abs(rho)^3 ds (1/m^2).
    I4 : float
        int D_x / rho (1 / rho^2 + 2 k1) ds minus the pole-face terms D_x tan(e) / rho^2 (1/m).
    I5 : float
        int H_x / abs(rho)^3 ds, H_x = gamma_x D^2 + 2 alpha_x D D' + beta_x D'^2 (1/m).
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
        Pole-face fringe integrals (``edge_*_fint``) act vertically only and are ignored
        (they change ``q_y`` slightly, not the integrals).

    Returns
    -------
    RadiationParameters

    Bad input raises an ``InputError`` (not an electron or positron ring, no bends, an
    unsupported element, anti-damping) or an ``UnstableLatticeError`` (no periodic solution in
    x or y, or a tune on an integer or half-integer resonance).
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
        raise InputError("line", f"Jx = {jx:.4g}, Jz = {jz:.4g}",
                         "radiation anti-damps one plane (a damping partition number <= 0): no equilibrium",
                         "reduce the gradient in the bends (I4 / I2 must lie between -1 and 2)")
    tau = [2 * energy_ev * t0 / (j * u0) for j in (jx, jy, jz)]
    eps_x = C_Q_M * gamma0**2 * i5 / (jx * i2)
    sigma_delta = math.sqrt(C_Q_M * gamma0**2 * i3 / (jz * i2))
    return RadiationParameters(i1, i2, i3, i4, i5, u0, jx, jy, jz, *tau, eps_x, sigma_delta, energy_ev,
                               gamma0, circumference_m, t0, i1 / circumference_m, q["x"], q["y"])
