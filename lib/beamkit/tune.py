"""Tune analysis with NAFF (PyNAFF as the reference analyser): spectral analysis only.

Chromaticity measured from these tunes lives in :mod:`beamkit.chromaticity`.

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

NAFF is :cite:p:`laskar1993`; PyNAFF :cite:p:`pynaff` is the reference implementation.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

__all__ = ["naff", "normalised_signal", "tunes"]


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


def _hann(n):
    k = np.arange(n)
    return 0.5 * (1.0 - np.cos(2.0 * np.pi * k / n))


# Power series of exp(D u), u = k/n - 1/2 in [-1/2, 1/2), D = -2 pi i t, |t| <= 1.25 bins:
# |D u| <= 3.93 and 3.93^32 / 32! ~ 3e-17, so 32 terms reach rounding error.
_N_TERMS = 32
_MAX_OFFSET_BINS = 1.25  # the refinement may move at most this many DFT bins from the coarse peak
_FACTORIAL = np.array([math.factorial(m) for m in range(_N_TERMS)], dtype=float)
# The coarse peak comes from the first _COARSE_TURNS samples, zero-padded x2: its error is
# at most 1/(4 * 256) in tune, i.e. one bin of a 1024-turn record, inside the Newton range.
_COARSE_TURNS = 256


def _coarse_peak(z, lo, hi):
    """Coarse tune on the grid j / (2 m): peak of |DFT|^2 of the first m = 256 samples."""
    m = min(z.shape[1], _COARSE_TURNS)
    spec = np.fft.fft(z[:, :m] * _hann(m), n=2 * m, axis=1)
    first, last = int(np.floor(lo * 2 * m)) + 1, int(np.ceil(hi * 2 * m))  # lo < f < hi
    band = spec[:, first:last]
    return first + np.argmax(band.real**2 + band.imag**2, axis=1), 2 * m


def _grouped_moments(signals, grid_index, grid_size, n):
    """Windowed, demodulated moments of real signals, grouped by coarse frequency.

    For every row r and signal S, ``M[r, m] = sum_k w_k S[r, k] exp(-2 pi i f0 k)
    u_k^m / m!`` with ``u_k = k/n - 1/2`` and the Hann window ``w``, the mean (weighted
    by ``w``) of each row removed. Rows sharing a coarse frequency ``f0`` share one
    (n, _N_TERMS) matrix, so the samples are only touched by real matrix products.
    """
    k = np.arange(n)
    u = k / n - 0.5
    w = _hann(n)
    base = (u[:, None] ** np.arange(_N_TERMS)[None, :] / _FACTORIAL) * w[:, None]
    out = [np.empty((len(grid_index), _N_TERMS), complex) for _ in signals]
    order = np.argsort(grid_index, kind="stable")
    bounds = np.flatnonzero(np.diff(grid_index[order])) + 1
    groups = np.split(order, bounds)
    for rows in groups:
        if len(groups) == 1:
            rows = slice(None)  # one group: use the rows as they are, no gather
        f0 = grid_index[order[0] if len(groups) == 1 else rows[0]] / grid_size
        p = base * np.exp(-2j * np.pi * f0 * k)[:, None]
        p_re, p_im = np.ascontiguousarray(p.real), np.ascontiguousarray(p.imag)
        ones = p.sum(axis=0)
        for sig, res in zip(signals, out):
            block = sig[rows, :n]
            mean = (block @ w) / w.sum()
            res[rows] = block @ p_re + 1j * (block @ p_im) - mean[:, None] * ones[None, :]
    return out


def _series(c, d):
    """S(D) = sum_m c_m D^m and its first two derivatives, by Horner, row by row."""
    s0 = np.zeros(c.shape[0], complex)
    s1 = np.zeros_like(s0)
    s2 = np.zeros_like(s0)
    for m in range(c.shape[1] - 1, -1, -1):
        s2 = s2 * d + 2.0 * s1
        s1 = s1 * d + s0
        s0 = s0 * d + c[:, m]
    return s0, s1, s2


def _newton_offset(moments, t, n_newton):
    """Maximise |S(t)|^2, S(t) = sum_k y_k exp(-2 pi i t u_k): t is the offset in bins."""
    for _ in range(n_newton):
        d = -2j * np.pi * t
        s0, s1, s2 = _series(moments, d)
        ds = -2j * np.pi * s1            # dS/dt
        dds = -4.0 * np.pi**2 * s2       # d2S/dt2
        grad = 2.0 * np.real(ds * np.conj(s0))
        curv = 2.0 * np.real(dds * np.conj(s0)) + 2.0 * np.abs(ds) ** 2
        ok = curv < 0  # step only where the objective is locally concave (at the peak)
        step = np.where(ok, -grad / np.where(ok, curv, -1.0), np.sign(grad) * 0.25)
        t_new = np.clip(t + np.clip(step, -0.25, 0.25), -_MAX_OFFSET_BINS, _MAX_OFFSET_BINS)
        done = np.all(np.abs(t_new - t) < 1e-13)
        t = t_new
        if done:
            break
    return t


def tunes(x, px=None, beta=None, alpha=None, *, chunk=8192, n_newton=12):
    """Fractional tunes of many particles at once (vectorised; no per-particle loop).

    Parameters
    ----------
    x : array_like, shape (n_particles, n_turns) or (n_turns,)
        Turn-by-turn positions (m). Each row's (windowed) mean, the closed orbit such
        as ``D delta``, is removed first, so a DC offset does not bias the tune.
    px : array_like, optional
        Turn-by-turn momenta (rad), same shape. With ``beta`` and ``alpha`` the
        complex normalised signal ``x_n - i p_n`` is analysed and the tune is in [0, 1).
    beta, alpha : float or array_like, optional
        Twiss functions at the observation point; required with ``px``. Arrays are
        per particle.
    chunk : int
        Particles analysed together; bounds the memory (about 200 bytes x ``chunk`` x
        ``n_turns``).
    n_newton : int
        Maximum Newton iterations of the frequency refinement.

    Returns
    -------
    numpy.ndarray or float
        Tunes, shape ``(n_particles,)`` (a float for a 1D input); in [0, 1) with
        ``px``, in (0, 0.5) for ``x`` alone. Rows with NaN (lost particles) give NaN.

    Notes
    -----
    The method is NAFF's first step {cite}`laskar1993` made exact and vectorised: the
    tune maximises the Hann-windowed spectrum ``|S(f)|``, which for a single tone peaks
    exactly at its frequency. An FFT of the first 256 samples gives the peak to about one
    bin of the full record; the rows are then demodulated there once, and their
    polynomial moments ``sum_k y_k (k/n - 1/2)^m`` (one matrix product) turn ``S`` near
    the peak into a power series, on which Newton's method converges to rounding error.

    For ``x`` alone the signal holds two tones, ``+Q`` and ``-Q``; the second biases the
    peak near ``Q = 0.25``. A complex signal is therefore built from consecutive samples,
    ``z_k = x_k + i (x_k cos(mu) - x_(k+1)) / sin(mu)``, ``mu = 2 pi Q``, which for
    linear motion equals ``A exp(i phi_k)``; its moments are linear in those of
    ``x_k`` and ``x_(k+1)``, so three rounds of updating ``mu`` cost almost nothing.
    """
    x = np.asarray(x, dtype=float)
    one = x.ndim == 1
    x2 = np.atleast_2d(x)
    if x2.ndim != 2:
        raise ValueError(f"x must have shape (n_particles, n_turns) or (n_turns,), got {x.shape}")
    n_p, n_t = x2.shape
    if n_t < 16:
        raise ValueError(f"tunes needs at least 16 turns, got {n_t}")
    if px is not None:
        if beta is None or alpha is None:
            raise ValueError("with px, give the Twiss beta and alpha at the observation point")
        p2 = np.atleast_2d(np.asarray(px, dtype=float))
        if p2.shape != x2.shape:
            raise ValueError(f"px has shape {p2.shape}, x has {x2.shape}")
        b_all = np.broadcast_to(np.asarray(beta, float), (n_p,))
        a_all = np.broadcast_to(np.asarray(alpha, float), (n_p,))
    out = np.full(n_p, np.nan)
    for start in range(0, n_p, chunk):
        block = slice(start, min(start + chunk, n_p))
        good = np.isfinite(x2[block]).all(axis=1)
        if px is not None:
            good &= np.isfinite(p2[block]).all(axis=1)
        if not good.any():
            continue
        # Lost particles (NaN) are left out; with none lost, work on views, not copies.
        rows = block if good.all() else np.arange(block.start, block.stop)[good]
        n_rows = int(good.sum())
        xs = x2[rows]
        if px is not None:
            # x_n - i p_n = c_x x + c_p px with c_x = (1 - i alpha)/sqrt(beta) and
            # c_p = -i sqrt(beta): linear, so it is applied to the moments of x and px.
            sb = np.sqrt(b_all[rows])
            cx = (1.0 - 1j * a_all[rows]) / sb
            cp = -1j * sb
            ps = p2[rows]
            m = min(n_t, _COARSE_TURNS)
            head = cx[:, None] * (xs[:, :m] - xs[:, :m].mean(axis=1, keepdims=True)) \
                + cp[:, None] * (ps[:, :m] - ps[:, :m].mean(axis=1, keepdims=True))
            j, grid = _coarse_peak(head, 0.0, 1.0)
            mom_x, mom_p = _grouped_moments([xs, ps], j, grid, n_t)
            moments = cx[:, None] * mom_x + cp[:, None] * mom_p
            t = _newton_offset(moments, np.zeros(n_rows), n_newton)
            out[rows] = (j / grid + t / n_t) % 1.0
        else:
            n = n_t - 1
            j, grid = _coarse_peak(xs[:, :-1] - xs[:, :-1].mean(axis=1, keepdims=True), 0.0, 0.5)
            ma, mb = _grouped_moments([xs[:, :-1], xs[:, 1:]], j, grid, n)
            f0 = j / grid
            t = np.zeros(n_rows)
            for _ in range(3):
                mu = 2.0 * np.pi * (f0 + t / n)
                moments = (1.0 + 1j / np.tan(mu))[:, None] * ma - (1j / np.sin(mu))[:, None] * mb
                t = _newton_offset(moments, t, n_newton)
            f = f0 + t / n
            out[rows] = np.abs(((f + 0.5) % 1.0) - 0.5)
    return float(out[0]) if one else out

