"""Design optics and closed orbit observed at a sextupole, and the first-order relations between
tune shifts, orbit changes and kicks."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import _validate as v
from ..errors import InputError
from ._maps import _TWO_PI, _linear_optics, _segments, _sextupole_node, _solve_orbit, _tunes
from ._ring import _check_ring


@dataclass(frozen=True)
class DesignOptics:
    """Design optics at a sextupole, all sextupoles off (see :func:`design_optics`).

    Attributes
    ----------
    beta_x_m, beta_y_m : float
        Beta functions (m).
    q_x, q_y : float
        Fractional tunes.
    dispersion_x_m : float
        Horizontal dispersion (m).
    alpha_c : float
        Momentum compaction.
    circumference_m : float
        Circumference (m).
    """

    beta_x_m: float
    beta_y_m: float
    q_x: float
    q_y: float
    dispersion_x_m: float
    alpha_c: float
    circumference_m: float

    def to_frame(self):
        """The optics as a one-column table."""
        return pd.DataFrame({"value": list(self.__dict__.values())}, index=list(self.__dict__))


def design_optics(ring, sextupole=0):
    """Design optics (sextupoles off, uncoupled) just upstream of one sextupole.

    Parameters
    ----------
    ring : Ring
    sextupole : int
        Index of the sextupole.

    Returns
    -------
    DesignOptics
    """
    sextupole = _check_ring(ring, sextupole)
    out = _linear_optics(ring, ring.sextupole_names[sextupole])
    return DesignOptics(**{k: float(val) for k, val in out.items()})


@dataclass(frozen=True)
class Orbit:
    """Closed orbit and linear motion around it (see :func:`closed_orbit`).

    Attributes
    ----------
    x_m, px, y_m, py, delta : float
        Closed orbit just before the observed sextupole (m, 1, m, 1, 1).
    q_x, q_y : float
        Fractional tunes of small oscillations about the orbit.
    a1_per_m : float
        Skew term read off the one-turn matrix before the sextupole, M13/M12 (1/m).
    x_bpm_m, y_bpm_m : numpy.ndarray
        Orbit at every BPM (m).
    matrix : numpy.ndarray
        The 6x6 one-turn Jacobian before the sextupole.
    """

    x_m: float
    px: float
    y_m: float
    py: float
    delta: float
    q_x: float
    q_y: float
    a1_per_m: float
    x_bpm_m: np.ndarray
    y_bpm_m: np.ndarray
    matrix: np.ndarray


def closed_orbit(ring, sextupole=0, six_d=False, kicks=None, k2l_override=None):
    """Closed orbit, tunes and skew term observed just before one sextupole.

    Parameters
    ----------
    ring : Ring
    sextupole : int
        Index of the observed sextupole.
    six_d : bool
        Include the RF (fixed frequency: the momentum adjusts so the path length is kept).
    kicks : dict, optional
        ``{bpm_name: (kick_x_rad, kick_y_rad)}`` corrector kicks at BPMs.
    k2l_override : dict, optional
        ``{sextupole_index: true k2l}`` replacing the strength of some sextupoles (1/m^2).

    Returns
    -------
    Orbit
    """
    sextupole = _check_ring(ring, sextupole)
    nodes, _ = _segments(ring, bool(six_d))
    start = _sextupole_node(nodes, sextupole)
    z, jac, rec = _solve_orbit(ring, bool(six_d), kicks, k2l_override, start)
    q_x, q_y = _tunes(jac[:4, :4])
    bpm = np.array([nd[0] == "bpm" for nd in np.roll(np.array(nodes, dtype=object), -start, axis=0)])
    order = np.roll(np.arange(len(nodes)), -start)
    bpm_rec = rec[bpm]
    # put BPM readings back in ring order
    bpm_order = np.argsort(order[bpm])
    return Orbit(x_m=z[0], px=z[1], y_m=z[2], py=z[3], delta=z[5], q_x=q_x, q_y=q_y,
                 a1_per_m=jac[0, 2] / jac[0, 1], x_bpm_m=bpm_rec[bpm_order, 0],
                 y_bpm_m=bpm_rec[bpm_order, 2], matrix=jac)


def quadrupole_term_from_tunes(dq_x, dq_y, beta_x_m, beta_y_m):
    """Integrated quadrupole term from tune shifts: dK1L = dmu_x/beta_x - dmu_y/beta_y.

    Code convention (k1 > 0 focuses horizontally): a thin quadrupole K1L shifts the tunes by
    dQx = +beta_x K1L/(4 pi), dQy = -beta_y K1L/(4 pi), so this difference is K1L to first
    order and insensitive to skew terms. The source :cite:p:`crittenden2025cesr` writes
    the opposite difference because its b1 has the opposite sign; mixing the conventions
    returns -X0.

    Parameters
    ----------
    dq_x, dq_y : float or array_like
        Tune shifts (1).
    beta_x_m, beta_y_m : float
        Beta functions at the quadrupole term (m).

    Returns
    -------
    ndarray
        dK1L (1/m).
    """
    dq_x = v.array("dq_x", np.atleast_1d(dq_x))
    dq_y = v.array("dq_y", np.atleast_1d(dq_y))
    v.same_shape(dq_x=dq_x, dq_y=dq_y)
    beta_x_m = v.scalar("beta_x_m", beta_x_m, positive=True, unit="m")
    beta_y_m = v.scalar("beta_y_m", beta_y_m, positive=True, unit="m")
    return _TWO_PI * dq_x / beta_x_m - _TWO_PI * dq_y / beta_y_m


def orbit_response_m_per_rad(beta_x_m, q_x, dispersion_x_m=0.0, alpha_c=None, circumference_m=None):
    """Closed-orbit change at a thin kick per unit kick (m/rad).

    4D (fixed momentum): beta cot(pi Q)/2. 6D (fixed RF frequency, ultra-relativistic):
    the momentum changes by -D theta/(alpha_c C), adding -D^2/(alpha_c C).

    Parameters
    ----------
    beta_x_m : float
        Beta function at the kick (m).
    q_x : float
        Tune (the integer part does not matter).
    dispersion_x_m : float
        Dispersion at the kick (m); used only when ``alpha_c`` is given.
    alpha_c : float, optional
        Momentum compaction; ``None`` gives the 4D relation.
    circumference_m : float, optional
        Ring circumference (m), required with ``alpha_c``.
    """
    beta_x_m = v.scalar("beta_x_m", beta_x_m, positive=True, unit="m")
    q_x = v.scalar("q_x", q_x, positive=True)
    if abs(q_x - round(q_x)) < 1e-6:
        raise InputError("q_x", q_x, "is on an integer resonance: the orbit response is infinite")
    dispersion_x_m = v.scalar("dispersion_x_m", dispersion_x_m, unit="m")
    r = 0.5 * beta_x_m / np.tan(np.pi * q_x)
    if alpha_c is not None:
        alpha_c = v.scalar("alpha_c", alpha_c)
        if alpha_c == 0:
            raise InputError("alpha_c", alpha_c, "must not be 0 (isochronous ring)")
        circumference_m = v.scalar("circumference_m", circumference_m, positive=True, unit="m",
                                   fix="give the circumference with alpha_c")
        r -= dispersion_x_m ** 2 / (alpha_c * circumference_m)
    return r


def kick_from_orbit(dx_m, beta_x_m, q_x, dispersion_x_m=0.0, alpha_c=None, circumference_m=None):
    """Kick (rad) at a location from the closed-orbit change ``dx_m`` (m) there.

    Inverse of :func:`orbit_response_m_per_rad` (same parameters). Using the 4D form on orbits
    measured with the RF on biases the kick by the ratio of the dispersion term to the
    betatron term (see the physics notes of the chapter).
    """
    dx_m = v.array("dx_m", np.atleast_1d(dx_m), unit="m")
    return dx_m / orbit_response_m_per_rad(beta_x_m, q_x, dispersion_x_m, alpha_c, circumference_m)
