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

The module is about 500 lines because the batch estimator behind :func:`tunes` (compiled
kernels for the windowed spectrum, the coarse peak and the Newton refinement, with their
input checks) sits beside the reference :func:`naff` it is tested against; each kernel has
one caller here, so splitting them would only add imports.
"""

from __future__ import annotations

import math
import warnings

import numba as nb
import numpy as np

from . import _validate as _v
from ._threads import blas_threads, run_chunks
from .errors import BeamkitWarning, InputError

__all__ = ["naff", "normalised_signal", "tunes"]


def normalised_signal(x, px, beta_m, alpha):
    """Complex normalised signal ``x_n - i p_n`` of turn-by-turn ``x`` and ``px``.

    ``x_n = x / sqrt(beta)`` and ``p_n = (alpha x + beta px) / sqrt(beta)``; the mean
    of ``x`` and ``px`` over turns (the closed orbit) is removed first. For linear
    motion the result is ``A exp(+2 pi i Q n)``: a single positive frequency.

    Parameters
    ----------
    x, px : array_like
        Positions (m) and momenta (rad) over turns, last axis = turns; same shape.
    beta_m, alpha : float
        Twiss functions at the observation point (m, 1); ``beta_m > 0``.

    Raises
    ------
    beamkit.InputError
        For complex, NaN/inf or mismatched ``x``, ``px`` (a lost particle is analysed by
        :func:`tunes`, which returns NaN for it), or ``beta_m <= 0``.
    """
    x = _v.array("x", x, min_size=1, allow_nan=True, unit="m",
                 fix="give the real turn-by-turn positions")
    px = _v.array("px", px, min_size=1, allow_nan=True, fix="give the real turn-by-turn momenta")
    _v.same_shape(x=x, px=px)
    beta_m = _v.scalar("beta_m", beta_m, positive=True, unit="m",
                       fix="give the Twiss beta at the observation point")
    alpha = _v.scalar("alpha", alpha)
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
    beamkit.InputError
        For fewer than 13 samples, NaN/inf samples (a lost particle), a constant signal,
        ``n_terms < 1`` or ``window < 0``.
    """
    import PyNAFF

    n_terms = _v.integer("n_terms", n_terms, minimum=1)
    window = _v.integer("window", window, minimum=0)
    z = np.asarray(signal)
    if z.ndim != 1:
        raise InputError("signal", z, f"must be one signal of shape (n_turns,), got shape {z.shape}",
                         "call naff once per particle, or use tunes() for many")
    if z.size < 13:
        raise InputError("signal", z, f"naff needs at least 13 samples, got {z.size}",
                         "track more turns")
    if not np.all(np.isfinite(z)):
        raise InputError("signal", z, "has NaN or inf samples (was the particle lost?)",
                         "analyse the particles that survived")
    z = z - z.mean()
    if not np.any(np.abs(z) > 0):
        raise InputError("signal", z, "is constant after removing its mean: no tune to find")
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
# Longer records use a longer head, m >= n_turns / 4, so that the coarse error 1/(4 m) stays
# within one bin 1/n_turns of the full record, inside the Newton range of 1.25 bins (with the
# head fixed at 256 samples, records of more than 1280 turns gave tunes off by up to 8e-4).
_COARSE_FRACTION = 4
# A row whose peak-to-peak variation is at most this fraction of its largest |value| is
# constant to rounding (45 ulp): it has no betatron oscillation and no tune.
_CONSTANT_RTOL = 1e-14
# x alone: within these many bins of the coarse head (1/m in tune) of 0 or of 0.5, the tones
# +Q and -Q (or Q and 1 - Q) overlap in the head's Hann main lobe and the tune can be off by
# up to ~1/(4 m). Measured on pure tones (64..8192 turns, 5 phases): errors above 1e-6 at
# most 3.8/m from 0 (64 turns; 2.9/m at 256, 1.4/m from 1024 on) and 1.03/m from 0.5; the
# bands below leave ~20% and ~50% margin.
_EDGE_BINS_NEAR_0 = 4.5
_EDGE_BINS_NEAR_HALF = 1.5


_FASTMATH = {"contract", "arcp", "afn", "reassoc"}
# Rows demodulated per matrix product: 2 x 256 x 1024 x 8 B = 4 MB stays in cache.
_ROWS_PER_PRODUCT = 256


def _demodulate_kernel(a, b, ca_re, ca_im, cb_re, cb_im, j, grid, tab_re, tab_im, w, out):
    """out[2r] + i out[2r+1] = z[r, k] exp(-2 pi i j[r] k / grid), where
    z = ca (a - <a>_w) + cb (b - <b>_w) and <.>_w is the Hann-weighted mean (``tab`` holds
    exp(-2 pi i q / grid), indexed by (j k) mod grid: exact angle reduction, no division)."""
    n = out.shape[1]
    wsum = 0.0
    for k in range(n):
        wsum += w[k]
    for r in range(a.shape[0]):
        ma = 0.0
        mb = 0.0
        for k in range(n):
            ma += w[k] * a[r, k]
            mb += w[k] * b[r, k]
        ma /= wsum
        mb /= wsum
        jr = j[r] % grid
        q = 0
        for k in range(n):
            da = a[r, k] - ma
            db = b[r, k] - mb
            zr = ca_re[r] * da + cb_re[r] * db
            zi = ca_im[r] * da + cb_im[r] * db
            out[2 * r, k] = zr * tab_re[q] - zi * tab_im[q]
            out[2 * r + 1, k] = zr * tab_im[q] + zi * tab_re[q]
            q += jr
            if q >= grid:
                q -= grid


def _head_kernel(a, b, ca_re, ca_im, cb_re, cb_im, win, out):
    """out[r, :m] = Hann window x (ca (a - <a>) + cb (b - <b>)) over the first m samples
    (plain means), zero-padded to out.shape[1]."""
    m = win.size
    for r in range(a.shape[0]):
        ma = 0.0
        mb = 0.0
        for k in range(m):
            ma += a[r, k]
            mb += b[r, k]
        ma /= m
        mb /= m
        for k in range(m):
            da = a[r, k] - ma
            db = b[r, k] - mb
            out[r, k] = complex(win[k] * (ca_re[r] * da + cb_re[r] * db),
                                win[k] * (ca_im[r] * da + cb_im[r] * db))
        for k in range(m, out.shape[1]):
            out[r, k] = 0j


@nb.njit(cache=True, nogil=True)
def _row_status(a, b, rtol):
    """Per row: finite (both a and b), and constant (both a and b constant to ``rtol``).

    One compiled pass over the data, no temporaries: the finiteness check the analysis needs
    anyway also keeps each row's extremes. A row with a NaN or inf is not constant (it is
    lost). With ``b`` the same array as ``a`` (x alone), the second test repeats the first.
    """
    n = a.shape[0]
    finite = np.ones(n, dtype=np.bool_)
    constant = np.zeros(n, dtype=np.bool_)
    for r in range(n):
        a_lo = a_hi = a[r, 0]
        b_lo = b_hi = b[r, 0]
        ok = True
        for k in range(a.shape[1]):
            u = a[r, k]
            w = b[r, k]
            if not (math.isfinite(u) and math.isfinite(w)):
                ok = False
                break
            a_lo = min(a_lo, u)
            a_hi = max(a_hi, u)
            b_lo = min(b_lo, w)
            b_hi = max(b_hi, w)
        finite[r] = ok
        if ok:
            constant[r] = ((a_hi - a_lo) <= rtol * max(abs(a_hi), abs(a_lo))
                           and (b_hi - b_lo) <= rtol * max(abs(b_hi), abs(b_lo)))
    return finite, constant


@nb.njit(cache=True, nogil=True, fastmath=_FASTMATH)
def _band_argmax(spec, first, last):
    """Index (from ``first``) of the largest |spec[r, first:last]|^2, row by row."""
    out = np.empty(spec.shape[0], dtype=np.int64)
    for r in range(spec.shape[0]):
        best = -1.0
        arg = first
        for q in range(first, last):
            v = spec[r, q].real ** 2 + spec[r, q].imag ** 2
            if v > best:
                best = v
                arg = q
        out[r] = arg
    return out


_JIT = {"cache": True, "nogil": True, "fastmath": _FASTMATH}
_demodulate = nb.njit(**_JIT)(_demodulate_kernel)
_head = nb.njit(**_JIT)(_head_kernel)


def _split_coefficients(ca, cb, rows):
    ca = np.broadcast_to(np.asarray(ca, complex), (rows,))
    cb = np.broadcast_to(np.asarray(cb, complex), (rows,))
    return tuple(np.ascontiguousarray(c) for c in (ca.real, ca.imag, cb.real, cb.imag))


def _coarse_peak(a, b, ca, cb, lo, hi):
    """Coarse tune on the grid j / (2 m), lo < j / (2 m) < hi: the peak of the Hann-windowed
    |DFT|^2 of the first m samples (see _head_length) of z = ca a + cb b, zero-padded x2."""
    rows = a.shape[0]
    m = _head_length(a.shape[1])
    head = np.empty((rows, 2 * m), complex)
    _head(a, b, *_split_coefficients(ca, cb, rows), _hann(m), head)
    spec = np.fft.fft(head, axis=1)
    first, last = int(np.floor(lo * 2 * m)) + 1, int(np.ceil(hi * 2 * m))  # lo < f < hi
    return _band_argmax(spec, first, last), 2 * m


def _head_length(n):
    """Samples in the coarse head for a record of ``n`` turns (see _COARSE_FRACTION)."""
    return min(n, max(_COARSE_TURNS, -(-n // _COARSE_FRACTION)))


def _moments(a, b, ca, cb, grid_index, grid_size, n):
    """Moments (rows, _N_TERMS) of z = ca a + cb b (real rows a, b; complex ca, cb per row),
    each row's Hann-weighted mean removed, demodulated at ``grid_index / grid_size``:
    ``M[r, m] = sum_k w_k z[r, k] exp(-2 pi i f0 k) u_k^m / m!``, u_k = k/n - 1/2.

    The demodulation is one compiled pass per row; the sums over k are one real matrix
    product per group of _ROWS_PER_PRODUCT rows (BLAS), small enough to stay in cache.
    """
    u = np.arange(n) / n - 0.5
    w = _hann(n)
    wbase = (u[:, None] ** np.arange(_N_TERMS)[None, :] / _FACTORIAL) * w[:, None]
    tab = np.exp(-2j * np.pi * np.arange(grid_size) / grid_size)
    tab_re, tab_im = np.ascontiguousarray(tab.real), np.ascontiguousarray(tab.imag)
    rows = a.shape[0]
    coef = _split_coefficients(ca, cb, rows)
    grid_index = np.ascontiguousarray(grid_index, dtype=np.int64)
    out = np.empty((rows, _N_TERMS), complex)
    out_real = out.view(float).reshape(rows, _N_TERMS, 2)
    y = np.empty((2 * min(rows, _ROWS_PER_PRODUCT), n))
    for r0 in range(0, rows, _ROWS_PER_PRODUCT):
        r1 = min(rows, r0 + _ROWS_PER_PRODUCT)
        yy = y[: 2 * (r1 - r0)]
        _demodulate(a[r0:r1], b[r0:r1], *(c[r0:r1] for c in coef), grid_index[r0:r1],
                    int(grid_size), tab_re, tab_im, w, yy)
        prod = yy @ wbase  # (2 rows, _N_TERMS): re and im interleaved by row
        out_real[r0:r1, :, 0] = prod[0::2]
        out_real[r0:r1, :, 1] = prod[1::2]
    return out


@nb.njit(cache=True, nogil=True, fastmath=_FASTMATH)
def _newton_rows(moments, t, n_newton):
    """Maximise |S(t)|^2, S(t) = sum_k y_k exp(-2 pi i t u_k), row by row; t in bins.

    S and its first two derivatives come from the power series sum_m M_m D^m (Horner),
    D = -2 pi i t. A Newton step where the objective is concave (at the peak), else a
    quarter-bin step uphill; steps are clipped to 1/4 bin and t to the allowed range."""
    nt = moments.shape[1]
    two_pi = 2.0 * math.pi
    for r in range(moments.shape[0]):
        tr = t[r]
        for _ in range(n_newton):
            d = complex(0.0, -two_pi * tr)
            s0 = 0j
            s1 = 0j
            s2 = 0j
            for m in range(nt - 1, -1, -1):
                s2 = s2 * d + 2.0 * s1
                s1 = s1 * d + s0
                s0 = s0 * d + moments[r, m]
            ds = complex(0.0, -two_pi) * s1          # dS/dt
            dds = -(two_pi * two_pi) * s2            # d2S/dt2
            grad = 2.0 * (ds * s0.conjugate()).real
            curv = 2.0 * (dds * s0.conjugate()).real + 2.0 * (ds.real * ds.real + ds.imag * ds.imag)
            if curv < 0.0:
                step = -grad / curv
            else:
                step = 0.25 if grad > 0 else -0.25
            step = min(max(step, -0.25), 0.25)
            t_new = min(max(tr + step, -_MAX_OFFSET_BINS), _MAX_OFFSET_BINS)
            done = abs(t_new - tr) < 1e-13
            tr = t_new
            if done:
                break
        t[r] = tr
    return t


def _newton_offset(moments, t, n_newton):
    """Offsets t (bins) maximising each row's windowed spectrum near the coarse peak."""
    return _newton_rows(np.ascontiguousarray(moments), np.array(t, dtype=float), int(n_newton))


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

    Raises
    ------
    beamkit.InputError
        For complex input, fewer than 16 turns, ``px`` without ``beta`` and ``alpha`` (or
        the reverse), shapes that differ, ``beta <= 0``, ``chunk`` or ``n_newton`` below 1,
        and constant rows: a particle that does not oscillate (on the closed orbit) has no
        tune, and NaN is reserved for lost particles, so the rows are named in the error
        rather than returned as NaN.

    Warns
    -----
    beamkit.BeamkitWarning
        For ``x`` alone, when a tune lies within about ``4.5 / m`` of 0 or ``1.5 / m`` of
        0.5 (``m = max(256, n_turns / 4)`` samples, at most ``n_turns``): the tones ``+Q``
        and ``-Q`` (or ``Q`` and ``1 - Q``) cannot be separated there and the result may be
        off by up to ``1 / (4 m)``. An exact ``Q = 0.5`` from 1024 turns of ``x`` alone comes
        out as 0.49927 (the coarse grid stops one step below 0.5 and the refinement at 1.25
        bins); with ``px`` it is 0.5 to rounding.

    Notes
    -----
    The method is NAFF's first step {cite}`laskar1993` made exact and vectorised: the
    tune maximises the Hann-windowed spectrum ``|S(f)|``, which for a single tone peaks
    exactly at its frequency. An FFT of the first 256 samples (a quarter of longer
    records) gives the peak to about one bin of the full record; the rows are then
    demodulated there once, and their polynomial moments ``sum_k y_k (k/n - 1/2)^m`` (one
    matrix product) turn ``S`` near the peak into a power series, on which Newton's method
    converges to rounding error. Records longer than 1024 turns use a longer head (a
    quarter of the record) so that the coarse peak stays within the refinement's range.

    Speed: each row is read twice (the coarse FFT of its head and one demodulating pass,
    both compiled), and the moments are real matrix products over groups of 256 rows that
    stay in cache; numba and OpenBLAS use the thread count of :mod:`beamkit._threads`
    (CPU affinity and cgroup quota, ``BEAMKIT_NUM_THREADS``), not the host's core count.
    nafflib :cite:p:`nafflib` on the same complex signal agrees to rounding (the tests).

    For ``x`` alone the signal holds two tones, ``+Q`` and ``-Q``; the second biases the
    peak near ``Q = 0.25``. A complex signal is therefore built from consecutive samples,
    ``z_k = x_k + i (x_k cos(mu) - x_(k+1)) / sin(mu)``, ``mu = 2 pi Q``, which for
    linear motion equals ``A exp(i phi_k)``; its moments are linear in those of
    ``x_k`` and ``x_(k+1)``, so three rounds of updating ``mu`` cost almost nothing.
    """
    for name, value in (("x", x), ("px", px)):
        if value is not None and np.iscomplexobj(value):
            raise InputError(name, value, "is complex where a real array is expected",
                             "give x and px separately (with beta and alpha)")
    chunk = _v.integer("chunk", chunk, minimum=1, fix="give the number of particles analysed together")
    n_newton = _v.integer("n_newton", n_newton, minimum=1,
                          fix="the coarse peak alone is only good to about one bin")
    x = np.asarray(x, dtype=float)  # not copied: large turn-by-turn arrays are only read
    one = x.ndim == 1
    x2 = np.atleast_2d(x)
    if x2.ndim != 2:
        raise InputError("x", x, f"must have shape (n_particles, n_turns) or (n_turns,), got {x.shape}")
    n_p, n_t = x2.shape
    if n_t < 16:
        raise InputError("x", x, f"tunes needs at least 16 turns, got {n_t}", "track more turns")
    if px is not None:
        if beta is None or alpha is None:
            raise InputError("beta" if beta is None else "alpha", None, "is required with px",
                             "with px, give the Twiss beta and alpha at the observation point")
        p2 = np.atleast_2d(np.asarray(px, dtype=float))
        if p2.shape != x2.shape:
            raise InputError("px", px, f"has shape {p2.shape}, x has {x2.shape}",
                             "give x and px of the same shape")
        twiss = {}
        for name, value, positive in (("beta", beta, True), ("alpha", alpha, False)):
            arr = _v.array(name, value, ndim=(0, 1), positive=positive, unit="m" if positive else "")
            if arr.size not in (1, n_p):
                raise InputError(name, value, f"has {arr.size} values for {n_p} particles",
                                 "give one value, or one per particle (row of x)")
            twiss[name] = np.broadcast_to(arr, (n_p,))
        b_all, a_all = twiss["beta"], twiss["alpha"]
    elif beta is not None or alpha is not None:
        raise InputError("px", None, "is required with beta and alpha",
                         "give px too, or leave out beta and alpha to analyse x alone")
    finite = np.empty(n_p, dtype=np.bool_)
    constant = np.empty(n_p, dtype=np.bool_)
    second = p2 if px is not None else x2

    def status(lo, hi):  # the compiled pass releases the GIL: pieces run side by side
        finite[lo:hi], constant[lo:hi] = _row_status(x2[lo:hi], second[lo:hi], _CONSTANT_RTOL)

    run_chunks(n_p, status, min_per_task=_ROWS_PER_PRODUCT, max_per_task=chunk)
    if constant.any():
        rows = np.flatnonzero(constant)
        raise InputError("x" if px is None else "x, px", x, f"has {rows.size} constant row(s), first "
                         f"rows {rows[:5].tolist()}: a particle that does not oscillate has no tune "
                         "(NaN is kept for lost particles)", "leave these rows out (e.g. a particle "
                         "launched on the closed orbit)")
    out = np.full(n_p, np.nan)
    idx = np.flatnonzero(finite)  # lost rows: NaN

    def piece(lo, hi):
        sel = idx[lo:hi]
        # with no lost row in the piece, work on views, not copies
        rows = slice(sel[0], sel[-1] + 1) if sel[-1] - sel[0] == hi - lo - 1 else sel
        n_rows = hi - lo
        xs = x2[rows]
        if px is not None:
            # x_n - i p_n = c_x x + c_p px with c_x = (1 - i alpha)/sqrt(beta) and
            # c_p = -i sqrt(beta): linear, so it is applied to the moments of x and px.
            sb = np.sqrt(b_all[rows])
            cx = (1.0 - 1j * a_all[rows]) / sb
            cp = -1j * sb
            ps = p2[rows]
            j, grid = _coarse_peak(xs, ps, cx, cp, 0.0, 1.0)
            moments = _moments(xs, ps, cx, cp, j, grid, n_t)
            t = _newton_offset(moments, np.zeros(n_rows), n_newton)
            out[rows] = (j / grid + t / n_t) % 1.0
        else:
            n = n_t - 1
            j, grid = _coarse_peak(xs[:, :-1], xs[:, :-1], 1.0, 0.0, 0.0, 0.5)
            ma = _moments(xs[:, :-1], xs[:, :-1], 1.0, 0.0, j, grid, n)
            mb = _moments(xs[:, 1:], xs[:, 1:], 1.0, 0.0, j, grid, n)
            f0 = j / grid
            t = np.zeros(n_rows)
            for _ in range(3):
                mu = 2.0 * np.pi * (f0 + t / n)
                moments = (1.0 + 1j / np.tan(mu))[:, None] * ma - (1j / np.sin(mu))[:, None] * mb
                t = _newton_offset(moments, t, n_newton)
            f = f0 + t / n
            out[rows] = np.abs(((f + 0.5) % 1.0) - 0.5)

    # Pieces of >= 256 rows, each analysed start to end on one thread (serial compiled code
    # and one-thread BLAS): one fork and one join per call.
    with blas_threads(1):
        run_chunks(idx.size, piece, min_per_task=_ROWS_PER_PRODUCT, max_per_task=chunk)
    if px is None:
        m = _head_length(n_t)
        e0, e5 = _EDGE_BINS_NEAR_0 / m, _EDGE_BINS_NEAR_HALF / m
        near = int(((out < e0) | (out > 0.5 - e5)).sum())  # NaN rows compare False
        if near:
            warnings.warn(f"{near} tune(s) from x alone lie within {e0:.2g} of 0 or {e5:.2g} of 0.5, "
                          "where x alone cannot separate Q from -Q or 1 - Q: they may be off by up to "
                          f"{0.25 / m:.2g} (an exact 0.5 from 1024 turns gives 0.4993); give px with "
                          "beta and alpha", BeamkitWarning, stacklevel=2)
    return float(out[0]) if one else out

