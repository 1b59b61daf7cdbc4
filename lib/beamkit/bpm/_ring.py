"""A booster-like ring with BPMs at high-beta_x (S) and high-beta_y (L) locations."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import _validate as v
from ..errors import InputError
from ..lattices import PARTICLES, Lattice, Magnet

__all__ = ["N_PERIODS", "PERIOD_LENGTH_M", "BpmOptics", "booster_like_ring", "bpm_optics"]

N_PERIODS = 24
#: Period length (m): 24 periods give the Fermilab Booster's 474 m circumference.
PERIOD_LENGTH_M = 19.75
_QUAD_LENGTH_M = 0.6
_BEND_LENGTH_M = 6.0
#: 400 MeV kinetic energy protons (Booster injection), total energy in eV.
INJECTION_ENERGY_EV = PARTICLES["proton"][0] + 400e6


def booster_like_ring(modulation_rel=0.1, quad_errors_rel=None, energy_ev=INJECTION_ENERGY_EV):
    """A 474 m, 24-period FODO ring with 48 BPMs, like the Fermilab Booster's S and L locations.

    Each period has a focusing quadrupole followed by a BPM ``bpm_sNN`` (``beta_x`` 30 to
    34 m, ``beta_y`` about 6.5 m, dispersion 2 to 4.5 m: the source's S locations, 30 m / 5 m),
    a defocusing quadrupole followed by ``bpm_lNN`` (4 to 7 m / 30 to 34 m: the L
    locations, 7 m / 20 m) and two 6 m sector bends of ``2 pi / 48``
    :cite:p:`tan2024booster`; tunes about 6.58 / 5.84, transition gamma about 5.96 (MAD-X,
    default modulation). Separated-function magnets stand in for the Booster's
    combined-function ones.

    Parameters
    ----------
    modulation_rel : float
        Relative modulation of the focusing quadrupoles with the period number ``p``,
        ``1 + modulation_rel * cos(2 pi * 3 p / 24)``: a design superperiodicity of 8
        that makes the optics at the BPMs differ between periods, so that the
        momentum spread can be separated from the emittances. 0 gives a perfectly
        periodic ring (rank-2 Eq. 9).
    quad_errors_rel : array_like, optional
        48 relative gradient errors (QF then QD of each period, in order): beta-beating.
    energy_ev : float
        Total energy of the protons (eV); 400 MeV kinetic by default.

    Returns
    -------
    Lattice
        Knobs ``k1l_f``, ``k1l_d`` (m^-1), ``theta`` (rad), ``modulation``.
    """
    mod = v.scalar("modulation_rel", modulation_rel, minimum=0.0, maximum=0.3)
    if quad_errors_rel is None:
        errs = np.zeros(2 * N_PERIODS)
    else:
        errs = v.array("quad_errors_rel", quad_errors_rel, shape=(2 * N_PERIODS,), minimum=-0.2, maximum=0.2,
                       fix="give 48 relative gradient errors (QF, QD of each period)")
    energy_ev = v.scalar("energy_ev", energy_ev, greater_than=PARTICLES["proton"][0], unit="eV")
    lq, lb, lp = _QUAD_LENGTH_M, _BEND_LENGTH_M, PERIOD_LENGTH_M
    # thin-lens FODO with 100 and 95 degrees per period, tuned on the thick ring
    k1l_f = 4 * math.sin(math.radians(100) / 2) / lp * 0.982
    k1l_d = -4 * math.sin(math.radians(95) / 2) / lp * 0.97
    variables = {"k1l_f": k1l_f, "k1l_d": k1l_d, "theta": 2 * math.pi / (2 * N_PERIODS), "modulation": mod}
    mags = []
    for p in range(N_PERIODS):
        o = p * lp
        tag = f"{p + 1:02d}"
        c = math.cos(2 * math.pi * 3 * p / N_PERIODS)
        ef, ed = float(errs[2 * p]), float(errs[2 * p + 1])
        mags += [
            Magnet(f"qf{tag}", "quadrupole", o + lq / 2, lq,
                   {"k1": f"k1l_f * (1 + modulation * ({c!r})) * {1 + ef!r} / {lq!r}"}),
            Magnet(f"bpm_s{tag}", "marker", o + lq + 0.3),
            Magnet(f"mb{tag}a", "sbend", o + lp / 4 + lq / 2, lb, {"angle": "theta"}),
            Magnet(f"qd{tag}", "quadrupole", o + lp / 2 + lq / 2, lq, {"k1": f"k1l_d * {1 + ed!r} / {lq!r}"}),
            Magnet(f"bpm_l{tag}", "marker", o + lp / 2 + lq + 0.3),
            Magnet(f"mb{tag}b", "sbend", o + 3 * lp / 4 + lq / 2, lb, {"angle": "theta"}),
        ]
    return Lattice("booster", N_PERIODS * lp, tuple(mags), variables, "proton", energy_ev,
                   "booster-like ring: 24 FODO periods, BPMs at S and L locations")


@dataclass(frozen=True)
class BpmOptics:
    """Optics at the BPMs of a ring.

    Attributes
    ----------
    names : tuple of str
        BPM names in ring order (``bpm_s01``, ``bpm_l01``, ...).
    s_m, beta_x_m, beta_y_m, dispersion_x_m, mu_x_rad, mu_y_rad : numpy.ndarray
        Position (m), beta functions (m), horizontal dispersion ``dx/d(delta)`` (m) and
        phase advances from the ring start (rad) at the BPMs.
    q_x, q_y : float
        Tunes (1).
    alpha_c, gamma_tr : float
        Momentum compaction and transition gamma (1).
    source : str
        The engine that computed them.
    """

    names: tuple
    s_m: np.ndarray
    beta_x_m: np.ndarray
    beta_y_m: np.ndarray
    dispersion_x_m: np.ndarray
    mu_x_rad: np.ndarray
    mu_y_rad: np.ndarray
    q_x: float
    q_y: float
    alpha_c: float
    gamma_tr: float
    source: str

    def to_frame(self):
        """One row per BPM."""
        return pd.DataFrame({"name": list(self.names), "s_m": self.s_m, "beta_x_m": self.beta_x_m,
                             "beta_y_m": self.beta_y_m, "dispersion_x_m": self.dispersion_x_m,
                             "mu_x_rad": self.mu_x_rad, "mu_y_rad": self.mu_y_rad})

    @property
    def pairs(self):
        """Indices ``(i_s, i_l)`` of the S and L BPM of each period, as the source pairs them."""
        s_idx = [i for i, n in enumerate(self.names) if n.startswith("bpm_s")]
        l_idx = [i for i, n in enumerate(self.names) if n.startswith("bpm_l")]
        return np.array(list(zip(s_idx, l_idx)), dtype=int)


def bpm_optics(lattice, engine="madx"):
    """Periodic optics of ``lattice`` at its markers named ``bpm_*``, from MAD-X or xtrack.

    Parameters
    ----------
    lattice : beamkit.lattices.Lattice
        For instance :func:`booster_like_ring`.
    engine : {"madx", "xtrack"}
        MAD-X ``twiss`` (cpymad) or xtrack's 4d twiss of the natively built line.

    Returns
    -------
    BpmOptics
    """
    if not isinstance(lattice, Lattice):
        raise InputError("lattice", lattice, "must be a beamkit.lattices.Lattice", "use booster_like_ring()")
    v.choice("engine", engine, ("madx", "xtrack"))
    if engine == "madx":
        from ..madx import session
        from ..optics import twiss_madx
        with session() as mad:
            mad.load(lattice)
            opt = twiss_madx(mad)
    else:
        from ..optics import twiss_xtrack
        opt = twiss_xtrack(lattice.to_xtrack())
    tab = opt.table.drop_duplicates("name", keep="first")
    tab = tab[tab["name"].str.startswith("bpm_")]
    if len(tab) < 3:
        raise InputError("lattice", lattice.name, "has fewer than three markers named bpm_*",
                         "add BPM markers")
    summ = opt.summary
    return BpmOptics(
        names=tuple(tab["name"]), s_m=tab["s_m"].to_numpy(float), beta_x_m=tab["beta_x_m"].to_numpy(float),
        beta_y_m=tab["beta_y_m"].to_numpy(float), dispersion_x_m=tab["dispersion_x_m"].to_numpy(float),
        mu_x_rad=tab["mu_x_rad"].to_numpy(float),
        mu_y_rad=tab["mu_y_rad"].to_numpy(float),
        q_x=float(summ["q_x"]), q_y=float(summ["q_y"]), alpha_c=float(summ["alpha_c"]),
        gamma_tr=float(summ["gamma_tr"]), source=opt.source,
    )
