"""Emittances from the quadrupole moments of 4-plate BPMs :cite:p:`tan2024booster`.

* :func:`plate_signals`, :func:`gaussian_signals`: the signals R, L, T, B of a 4-plate BPM;
* :func:`modes`: dipole and quadrupole modes and their inversion (leading order and exact);
* :func:`fit_emittances`: the least-squares (SVD) solution of the source's Eq. 9;
* :func:`booster_like_ring`, :func:`bpm_optics`: a 24-period ring with S and L BPMs;
* :func:`ramp_truth`, :func:`make_machine`, :func:`simulate_ramp`, :func:`analyse_ramp`,
  :func:`ramp_growth`: a simulated measurement over an acceleration ramp and its analysis.

Emittances are geometric RMS emittances, ``sigma^2 = beta eps + (D sigma_delta)^2``. The
source writes ``sigma^2 = beta eps / pi``, so its ``eps`` is ``pi`` times ``eps_x_m``: its
number in units of pi mm mrad equals ``eps_x_m`` in mm mrad (an RMS, not a 95 % emittance).
"""

from ._fit import EmittanceFit, fit_emittances
from ._ramp import (
    BpmMachine,
    RampAnalysis,
    RampGrowth,
    RampSignals,
    RampTruth,
    analyse_ramp,
    make_machine,
    ramp_growth,
    ramp_truth,
    simulate_ramp,
)
from ._ring import BpmOptics, booster_like_ring, bpm_optics
from ._signals import PLATE_CENTRES_RAD, Modes, gaussian_signals, modes, plate_signals

__all__ = [
    "PLATE_CENTRES_RAD",
    "BpmMachine",
    "BpmOptics",
    "EmittanceFit",
    "Modes",
    "RampAnalysis",
    "RampGrowth",
    "RampSignals",
    "RampTruth",
    "analyse_ramp",
    "booster_like_ring",
    "bpm_optics",
    "fit_emittances",
    "gaussian_signals",
    "make_machine",
    "modes",
    "plate_signals",
    "ramp_growth",
    "ramp_truth",
    "simulate_ramp",
]
