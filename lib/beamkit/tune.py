"""Tune analysis with NAFF (PyNAFF as the reference analyser).

Traps handled here (see the notation page and the physics notes):

* PyNAFF rounds ``turns`` down to a multiple of 6 and needs more samples than
  ``turns``: :func:`naff` passes ``turns = len(signal) - 1`` rounded down to a multiple
  of 6.
* A DC offset (the dispersive orbit ``D delta`` of an off-momentum particle) is a
  spectral line at zero frequency that biases the tune: it is subtracted first.
* A real signal ``x`` alone cannot tell ``Q`` from ``1 - Q`` and NAFF is biased near
  ``Q = 0.25`` (errors up to 4e-4 for Q in 0.245..0.255), which is the LHC cell's phase
  advance. The complex normalised signal ``x_n - i p_n`` removes both problems:
  see :func:`normalised_signal`.

References
----------
J. Laskar, *Frequency analysis for multi-dimensional systems*, Physica D 67 (1993) 257.
F. Asvesta, N. Karastathis, P. Zisopoulos, PyNAFF (2019), https://github.com/nkarast/PyNAFF.
"""

from __future__ import annotations

import warnings

import numpy as np

__all__ = ["naff", "normalised_signal"]


def normalised_signal(x, px, beta_m, alpha):
    """Complex normalised signal ``x_n - i p_n`` of turn-by-turn ``x`` and ``px``.

    ``x_n = x / sqrt(beta)`` and ``p_n = (alpha x + beta px) / sqrt(beta)``; the mean
    of ``x`` and ``px`` over turns (the closed orbit) is removed first. For linear
    motion the result is ``A exp(+2 pi i Q n)``: a single positive frequency.

    Parameters
    ----------
    x, px : array_like
        Positions (m) and momenta (rad) over turns, last axis = turns.
    beta_m, alpha : float
        Twiss functions at the observation point.
    """
    x = np.asarray(x, float)
    px = np.asarray(px, float)
    x = x - x.mean(axis=-1, keepdims=True)
    px = px - px.mean(axis=-1, keepdims=True)
    sb = np.sqrt(beta_m)
    return x / sb - 1j * (alpha * x + beta_m * px) / sb


def naff(signal, n_terms=1, window=1):
    """Main frequency (fractional tune) of a turn-by-turn signal, by PyNAFF.

    Parameters
    ----------
    signal : array_like, shape (n_turns,)
        Real (e.g. ``x``) or complex (e.g. :func:`normalised_signal`) samples, one per
        turn. At least 13 samples.
    n_terms : int
        Number of frequencies to extract; the first (largest amplitude) is returned.
    window : int
        Hann window power used by NAFF.

    Returns
    -------
    float
        The tune: in [0, 0.5] for a real signal (it cannot tell Q from 1 - Q), in
        [0, 1) for a complex one.

    Raises
    ------
    ValueError
        For fewer than 13 samples, NaN/inf samples (a lost particle) or a constant
        signal.
    """
    import PyNAFF

    z = np.asarray(signal)
    if z.ndim != 1:
        raise ValueError(f"naff takes one signal of shape (n_turns,), got shape {z.shape}")
    if z.size < 13:
        raise ValueError(f"naff needs at least 13 samples, got {z.size}")
    if not np.all(np.isfinite(z)):
        raise ValueError("the signal has NaN or inf samples (was the particle lost?)")
    z = z - z.mean()
    if not np.any(np.abs(z) > 0):
        raise ValueError("the signal is constant after removing its mean: no tune to find")
    turns = ((z.size - 1) // 6) * 6
    is_complex = np.iscomplexobj(z)
    with warnings.catch_warnings():
        # PyNAFF warns about its own turn rounding, which is handled above.
        warnings.filterwarnings("ignore", message=".*turns.*", category=UserWarning)
        out = PyNAFF.naff(z, turns=turns, nterms=n_terms, window=window,
                          getFullSpectrum=is_complex)
    freq = float(out[0, 1])
    if is_complex:
        # PyNAFF reports the signed frequency of exp(2 pi i f n); x_n - i p_n has f = +Q.
        return freq % 1.0
    return abs(freq)
