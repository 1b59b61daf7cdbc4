"""One magnetic field, three trackers: beamkit (map + RK4), xtrack BFieldExpansion, xtrack SplineBoris.

The field is a straight combined-function magnet of length ``L`` whose on-plane field is

    By(x, 0, s) = p(s) (B0 + G x + S x^2 / 2),   p(s) = 16 s^2 (L - s)^2 / L^4,

a quartic bump that vanishes with its slope at both ends (mean 8/15). Both xtrack elements
represent it exactly: :class:`xtrack.BFieldExpansion` through its polynomial coefficients
``knc[i, j]`` (By/(B rho) = sum_ij knc[i, j] s^j x^i / i!), with the Maxwell-consistent
off-plane field from its scalar potential, and :class:`xtrack.SplineBoris` through one
quartic Hermite segment per multipole (values and slopes 0 at the ends, mean 8/15 of the
amplitude), so no :class:`FieldFitter` error enters. The beamkit map samples
BFieldExpansion's field (Bx, By, Bs in T) on a regular grid.
"""

import numpy as np
from scipy.constants import c as C_LIGHT

LENGTH_M = 1.0
B0_T, G_T_PER_M, S_T_PER_M2 = 0.2, 2.0, 10.0
P0C_EV = 1e9


def elements(p0c_ev=P0C_EV, length_m=LENGTH_M):
    """``(bfield_expansion, spline_boris, brho_tm)`` for the field above."""
    import xtrack as xt

    brho_tm = p0c_ev / C_LIGHT
    profile = np.array([0.0, 0.0, 16 / length_m**2, -32 / length_m**3, 16 / length_m**4])
    knc = np.array([B0_T * profile, G_T_PER_M * profile, S_T_PER_M2 * profile]) / brho_tm
    bfe = xt.BFieldExpansion(length=length_m, knc=knc, num_integration_steps=10, pkin_const=True)

    def quartic(amplitude):
        return xt.Spline4(val_start=0.0, der_start=0.0, val_end=0.0, der_end=0.0,
                          mean=amplitude * 8.0 / 15.0)

    sb = xt.SplineBoris(by=(quartic(B0_T), quartic(G_T_PER_M), quartic(S_T_PER_M2)),
                        length=length_m, n_steps=10)
    return bfe, sb, brho_tm


def field_map(bfe, brho_tm, dx_m=2e-3, dz_m=1e-2, length_m=LENGTH_M):
    """A beamkit FieldMap sampled from ``bfe`` on x in [-40, 40] mm, y in [-16, 16] mm."""
    from beamkit.fieldmap import FieldMap

    x = np.arange(-0.04, 0.04 + dx_m / 2, dx_m)
    y = np.arange(-0.016, 0.016 + dx_m / 2, dx_m)
    z = np.linspace(0.0, length_m, int(round(length_m / dz_m)) + 1)
    X, Y, Z = np.meshgrid(x, y, z, indexing="ij")
    f = bfe.get_field(X, Y, Z)
    return FieldMap(x, y, z, f["Bx"] * brho_tm, f["By"] * brho_tm, f["Bs"] * brho_tm,
                    description="quartic combined-function magnet sampled from xtrack BFieldExpansion")


def beam(n, rng):
    """A beam of ``n`` particles: +-5 mm, +-1 mrad in both planes, delta +-1e-3 (uniform)."""
    return {"x": rng.uniform(-5e-3, 5e-3, n), "px": rng.uniform(-1e-3, 1e-3, n),
            "y": rng.uniform(-5e-3, 5e-3, n), "py": rng.uniform(-1e-3, 1e-3, n),
            "delta": rng.uniform(-1e-3, 1e-3, n)}


def track_xtrack(element, particles, n_steps, p0c_ev=P0C_EV):
    """Exit (x, px, y, py), shape (4, n), of ``element`` run with ``n_steps`` steps."""
    import xtrack as xt

    el = element.copy()
    if isinstance(el, xt.BFieldExpansion):
        el.num_integration_steps = n_steps
    else:
        el.n_steps = n_steps
    p = xt.Particles(p0c=p0c_ev, mass0=xt.PROTON_MASS_EV, **particles)
    el.track(p)
    order = np.argsort(p.particle_id)
    return np.array([p.x[order], p.px[order], p.y[order], p.py[order]])


def track_beamkit(fm, particles, n_steps, p0c_ev=P0C_EV, length_m=LENGTH_M):
    """Exit (x, px, y, py), shape (4, n), of beamkit RK4 + tricubic through ``fm``."""
    from beamkit.fieldmap import track

    r = track(fm, particles, 0.0, length_m, n_steps, "rk4", p0c=p0c_ev, q0=1.0, progress=False)
    return np.array([r.x, r.px, r.y, r.py])
