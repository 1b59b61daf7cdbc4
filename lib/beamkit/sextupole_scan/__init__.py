"""Sextupole strength scans: calibration, alignment and beam size (CESR method).

Changing the integrated strength of one sextupole by dK2L kicks a beam with centroid
(X0, Y0) relative to the magnet centre and RMS sizes (sigma_x, sigma_y). Averaged over a
Gaussian beam, the change of kick is (code convention, as MAD-X and xtrack,
``px -= k2l/2 (x^2 - y^2)``, ``py += k2l x y``)

* a quadrupole term ``dK1L = dK2L X0`` (k1 > 0 focuses horizontally),
* a skew-quadrupole term ``da1 = dK2L Y0``,
* a dipole term ``dpx = -dK2L (X0^2 - Y0^2 + sigma_x^2 - sigma_y^2) / 2``,

so that ``sigma_x^2 - sigma_y^2 = -2 dpx/dK2L + Y0^2 - X0^2`` :cite:p:`crittenden2025cesr`.
This module simulates such scans on a ring of thin elements (:func:`fodo_ring`,
:func:`simulate_scan`), reconstructs X0, Y0 and sigma_x from them (:func:`reconstruct`),
calibrates a sextupole from a closed-bump scan (:func:`calibrate`), and runs the whole
procedure on every sextupole of a ring (:func:`survey`).

The ring model is a list of thin elements; between the nonlinear nodes (sextupoles and
orbit correctors) it is linear, so the closed orbit is found by Newton iteration on
6x6 matrices, which is fast enough for a survey of many sextupoles. :meth:`Ring.to_xtrack`
builds the same ring in xtrack for independent checks.

Layout: ``_maps`` (linear maps, node kicks, Newton closed orbit), ``_ring`` (:class:`Ring`,
:func:`fodo_ring`), ``_orbit`` (design optics, closed orbit, first-order relations), ``_scan``,
``_reconstruct``, ``_calibrate``, ``_survey``; import the public names from here.
"""

from ._calibrate import Calibration, calibrate
from ._orbit import (
    DesignOptics,
    Orbit,
    closed_orbit,
    design_optics,
    kick_from_orbit,
    orbit_response_m_per_rad,
    quadrupole_term_from_tunes,
)
from ._reconstruct import Reconstruction, reconstruct, reconstruct_scan
from ._ring import Ring, fodo_ring
from ._scan import ScanResult, simulate_scan
from ._survey import SurveyResult, survey

__all__ = [
    "Calibration",
    "DesignOptics",
    "Orbit",
    "Reconstruction",
    "Ring",
    "ScanResult",
    "SurveyResult",
    "calibrate",
    "closed_orbit",
    "design_optics",
    "fodo_ring",
    "kick_from_orbit",
    "orbit_response_m_per_rad",
    "quadrupole_term_from_tunes",
    "reconstruct",
    "reconstruct_scan",
    "simulate_scan",
    "survey",
]
