"""Bad-input rows for beamkit.radiation."""

import xtrack as xt

from beamkit import radiation as rad
from beamkit.errors import InputError, UnstableLatticeError


def _proton_ring():
    line = rad.fodo_ring()
    line.particle_ref = xt.Particles(mass0=938.27208816e6, q0=1, energy0=7e12)
    return line


def _no_bends():
    line = xt.Line(elements=[xt.Drift(length=1.0), xt.Quadrupole(length=0.2, k1=0.5), xt.Drift(length=1.0)],
                   element_names=["d1", "q", "d2"])
    line.particle_ref = xt.Particles(mass0=rad.ELECTRON_MASS_EV, q0=-1, energy0=3e9)
    return line


def _unstable():
    line = rad.fodo_ring()
    for name in line.element_names:
        if name.startswith("qd"):
            line.element_dict[name].k1 = -5.0
    return line


def _thin_dipole():
    line = rad.fodo_ring()
    names = ["kick", *line.element_names]
    elements = [xt.Multipole(knl=[1e-3]), *[line.element_dict[n].copy() for n in line.element_names]]
    out = xt.Line(elements=elements, element_names=names)
    out.particle_ref = line.particle_ref.copy()
    return out


CASES = [
    ("ring-proton", lambda: rad.ring_parameters(_proton_ring()), InputError, ["particle_ref", "proton"]),
    ("ring-no-bends", lambda: rad.ring_parameters(_no_bends()), InputError, ["line", "no bends"]),
    ("ring-unstable", lambda: rad.ring_parameters(_unstable()), UnstableLatticeError, ["unstable", "trace"]),
    ("ring-thin-dipole", lambda: rad.ring_parameters(_thin_dipole()), InputError, ["kick", "thick"]),
    ("ring-not-a-line", lambda: rad.ring_parameters([1, 2]), InputError, ["line", "xtrack.line"]),
    ("power-below-rest", lambda: rad.radiated_power_w(1e5, 10.0), InputError, ["energy_ev", "total"]),
    ("power-neutral", lambda: rad.radiated_power_w(1e9, 10.0, q0=0), InputError, ["q0", "neutral"]),
    ("power-rho-negative", lambda: rad.radiated_power_w(1e9, -1.0), InputError, ["rho_m", "> 0"]),
    ("spectrum-negative", lambda: rad.spectrum([-1.0, 1.0]), InputError, ["x", ">= 0"]),
    ("undulator-harmonic", lambda: rad.undulator_wavelength_m(0.02, 1.0, 5000.0, harmonic=0), InputError,
     ["harmonic", ">= 1"]),
    ("undulator-gamma", lambda: rad.undulator_wavelength_m(0.02, 1.0, 0.5), InputError, ["gamma0", "> 1"]),
    ("fodo-mu", lambda: rad.fodo_ring(mu_cell_rad=4.0), InputError, ["mu_cell_rad", "<="]),
    ("fodo-bend-type", lambda: rad.fodo_ring(bend_type="wiggly"), InputError, ["bend_type", "sector"]),
    ("slice-zero", lambda: rad.slice_bends(rad.fodo_ring(), 0), InputError, ["n_slices", ">= 1"]),
]


def _rbend():
    line = xt.Line(elements=[xt.RBend(length_straight=1.0, angle=0.1, k0_from_h=True), xt.Drift(length=1.0)],
                   element_names=["rb", "d"])
    line.particle_ref = xt.Particles(mass0=rad.ELECTRON_MASS_EV, q0=-1, energy0=3e9)
    return line


CASES.append(("ring-rbend", lambda: rad.ring_parameters(_rbend()), InputError, ["rb", "edge_entry_angle"]))
CASES.append(("madx-bend-slices", lambda: rad.to_madx(rad.fodo_ring(), bend_slices=0), InputError,
              ["bend_slices", ">= 1"]))
