"""Synchrotron radiation: one particle in a bend, and a ring's radiation equilibrium.

Closed forms (SI, energies in eV):

* :func:`radiated_power_w`: P = q^2 e^2 c beta^4 gamma^4 / (6 pi eps0 rho^2) for any species
  :cite:p:`oeftiger2026lecture6,jackson1999`;
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

from ._codes import fodo_ring, slice_bends, to_madx, to_pyat
from ._ring import RadiationParameters, ring_parameters
from ._single import (
    C_GAMMA_M_PER_EV3,
    C_Q_M,
    ELECTRON_MASS_EV,
    critical_frequency_rad_s,
    critical_photon_energy_ev,
    radiated_power_w,
    spectrum,
    undulator_parameter,
    undulator_wavelength_m,
)

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
