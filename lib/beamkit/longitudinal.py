"""Longitudinal quantities of a ring: momentum compaction, transition and the slip factor.

The path length of an off-momentum particle differs from the reference by
``Delta C / C = alpha_c delta``, with ``alpha_c = (1/C) integral of D(s)/rho(s) ds``
:cite:p:`wille2000,lee2019`. With the speed ``beta c`` the revolution period changes by
``Delta T / T = eta delta``, ``eta = alpha_c - 1/gamma^2`` (the slip factor), which changes
sign at the transition gamma ``gamma_tr = 1/sqrt(alpha_c)``.
"""

from __future__ import annotations

import math

import numpy as np

from . import _validate as v
from . import matrices as _mx
from .errors import InputError

__all__ = ["momentum_compaction_from_matrices", "slip_factor", "transition_gamma"]


def momentum_compaction_from_matrices(lattice, thin=False):
    """Momentum compaction ``alpha_c = (1/C) * integral of D(s)/rho(s) ds`` (dimensionless).

    The integral over each sector bend is done in closed form from the periodic
    dispersion at its entrance: for a bend of angle theta and curvature h = 1/rho,
    ``integral h D ds = D0 sin(theta) + D0' (1 - cos theta)/h + (theta - sin theta)/h``
    :cite:p:`lee2019`.

    Parameters
    ----------
    lattice : beamkit.lattices.Lattice
        A periodic cell; its periodic dispersion is that of its one-turn matrix.
    thin : bool
        Thin-lens quadrupoles (see :meth:`beamkit.lattices.Lattice.transfer_matrices`).

    Returns
    -------
    float
        ``alpha_c`` (1).
    """
    from .lattices import Lattice

    if not isinstance(lattice, Lattice):
        raise InputError("lattice", lattice, "must be a beamkit.lattices.Lattice")
    if not isinstance(thin, (bool, np.bool_)):
        raise InputError("thin", thin, "must be True or False")
    slices = lattice.transfer_matrices("x", thin=bool(thin))
    one_turn = _mx.line_matrix(sl.matrix for sl in slices)
    start = _mx.periodic_twiss(one_turn, "x")
    d, dp = start.dispersion_m, start.dispersion_prime
    total = 0.0
    for sl in slices:
        if sl.kind == "sbend":
            m = sl.matrix
            length = sl.s_end_m - sl.s_start_m
            theta = math.asin(m[1, 2]) if abs(m[1, 2]) < 1 else math.pi / 2
            if theta != 0.0:
                h = theta / length
                total += d * math.sin(theta) + dp * (1 - math.cos(theta)) / h + (theta - math.sin(theta)) / h
        d, dp = sl.matrix[:2, :2] @ np.array([d, dp]) + sl.matrix[:2, 2]
    return total / lattice.length_m


def transition_gamma(alpha_c):
    """Transition gamma ``gamma_tr = 1/sqrt(alpha_c)`` (1); NaN when ``alpha_c <= 0``.

    A ring with negative momentum compaction has no transition: NaN says so rather than
    an imaginary number.
    """
    alpha_c = v.scalar("alpha_c", alpha_c)
    return 1.0 / math.sqrt(alpha_c) if alpha_c > 0 else float("nan")


def slip_factor(alpha_c, gamma0):
    """Phase-slip factor ``eta = alpha_c - 1/gamma0^2`` (dimensionless).

    ``eta = (dT/T) / delta`` for the revolution period T :cite:p:`wille2000`: below
    transition (``gamma0 < gamma_tr``, eta < 0) faster particles arrive earlier; above it
    (eta > 0) their longer path wins and they arrive later.

    Parameters
    ----------
    alpha_c : float
        Momentum compaction (1).
    gamma0 : float or array_like
        Relativistic gamma of the reference particle (1), at least 1; an array gives an
        array.

    Returns
    -------
    float or numpy.ndarray
        ``eta`` (1), a float for a scalar ``gamma0``.
    """
    alpha_c = v.scalar("alpha_c", alpha_c)
    scalar_in = np.ndim(gamma0) == 0
    gamma0 = v.array("gamma0", gamma0, minimum=1.0,
                     fix="gamma0 is the Lorentz factor E/(m c^2), not an energy or a speed")
    eta = alpha_c - 1.0 / gamma0**2
    return float(eta) if scalar_in else eta
