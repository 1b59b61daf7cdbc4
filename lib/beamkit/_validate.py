"""Shared argument checks for beamkit's public functions.

Every public function checks what it is given at its boundary with these helpers, so that
a bad argument is an :class:`~beamkit.errors.InputError` naming the argument, showing the
value and saying what to do, never a plausible wrong number. The helpers return clean
values (a ``float``, an ``int``, a new float array) and never modify what they are given.

Usage::

    from . import _validate as v

    def f(beta_x_m, n_turns, deltas):
        beta_x_m = v.scalar("beta_x_m", beta_x_m, positive=True, unit="m")
        n_turns = v.integer("n_turns", n_turns, minimum=16)
        deltas = v.array("deltas", deltas, ndim=1, min_size=3, greater_than=-1.0)
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np

from .errors import BeamkitWarning, InputError

__all__ = [
    "array",
    "choice",
    "fits_in_memory",
    "integer",
    "plausible",
    "same_shape",
    "scalar",
]


def _bounds_problem(x, *, positive, nonnegative, greater_than, minimum, maximum, unit):
    """Return the first violated bound as text, or None (x: float or ndarray)."""
    u = f" {unit}" if unit else ""
    checks = []
    if positive:
        checks.append((np.any(np.asarray(x) <= 0), "must be > 0"))
    if nonnegative:
        checks.append((np.any(np.asarray(x) < 0), "must be >= 0"))
    if greater_than is not None:
        checks.append((np.any(np.asarray(x) <= greater_than), f"must be > {greater_than:g}{u}"))
    if minimum is not None:
        checks.append((np.any(np.asarray(x) < minimum), f"must be >= {minimum:g}{u}"))
    if maximum is not None:
        checks.append((np.any(np.asarray(x) > maximum), f"must be <= {maximum:g}{u}"))
    for failed, text in checks:
        if failed:
            return text
    return None


def scalar(name, value, *, positive=False, nonnegative=False, greater_than=None, minimum=None,
           maximum=None, unit="", fix="", allow_none=False):
    """A finite real number as a ``float``, checked against the bounds given.

    Parameters
    ----------
    name : str
        The argument's name, used in the message.
    value : object
        What the caller gave. ``bool``, complex numbers, strings, arrays of size other than
        one, NaN and infinities are refused.
    positive, nonnegative : bool
        Require ``value > 0`` or ``value >= 0``.
    greater_than, minimum, maximum : float, optional
        Require ``value > greater_than``, ``value >= minimum``, ``value <= maximum``.
    unit : str
        The unit, shown in the message (``"m"``, ``"eV"``).
    fix : str
        What the caller should do instead, appended to the message.
    allow_none : bool
        Return ``None`` for ``None`` instead of refusing it.
    """
    if value is None and allow_none:
        return None
    if isinstance(value, (bool, np.bool_)) or value is None:
        raise InputError(name, value, "must be a real number", fix)
    if isinstance(value, np.ndarray):
        if value.size != 1:
            raise InputError(name, value, "must be a single number, not an array", fix)
        value = value.reshape(()).item()
    if isinstance(value, (complex, np.complexfloating)):
        raise InputError(name, value, "must be real, not complex", fix)
    if not isinstance(value, numbers.Real):
        raise InputError(name, value, f"must be a real number, not {type(value).__name__}", fix)
    x = float(value)
    if not np.isfinite(x):
        raise InputError(name, value, "must be finite (not NaN or infinite)", fix)
    problem = _bounds_problem(x, positive=positive, nonnegative=nonnegative,
                              greater_than=greater_than, minimum=minimum, maximum=maximum, unit=unit)
    if problem:
        raise InputError(name, value, problem, fix)
    return x


def integer(name, value, *, minimum=None, maximum=None, fix=""):
    """An integer as an ``int``; a float is accepted only when it is integral (``3.0``).

    ``2.7`` is refused rather than truncated, and ``True`` is not an integer here.
    """
    if isinstance(value, (bool, np.bool_)) or value is None:
        raise InputError(name, value, "must be an integer", fix)
    if isinstance(value, numbers.Integral):
        n = int(value)
    elif isinstance(value, numbers.Real) and np.isfinite(float(value)) and float(value).is_integer():
        n = int(value)
    else:
        raise InputError(name, value, "must be an integer (it is not truncated for you)", fix)
    if minimum is not None and n < minimum:
        raise InputError(name, value, f"must be >= {minimum}", fix)
    if maximum is not None and n > maximum:
        raise InputError(name, value, f"must be <= {maximum}", fix)
    return n


def array(name, value, *, ndim=None, shape=None, min_size=None, positive=False, nonnegative=False,
          greater_than=None, minimum=None, maximum=None, allow_nan=False, dtype=float, unit="",
          fix=""):
    """A new ``numpy`` array of ``dtype`` (a copy: the caller's data is never touched).

    Parameters
    ----------
    name : str
        The argument's name, used in the message.
    value : array_like
        What the caller gave. A complex input is refused when ``dtype`` is real (its
        imaginary part would be dropped silently).
    ndim : int or tuple of int, optional
        Allowed numbers of dimensions.
    shape : tuple, optional
        Required shape; ``None`` entries match any length.
    min_size : int, optional
        Least number of elements.
    positive, nonnegative, greater_than, minimum, maximum :
        Bounds on every (non-NaN) element.
    allow_nan : bool
        Allow NaN entries (for example lost particles); infinities are always refused.
    """
    try:
        raw = np.asarray(value)
    except Exception as exc:  # noqa: BLE001 - e.g. ragged lists
        raise InputError(name, value, f"cannot be read as an array ({exc})", fix) from None
    if raw.dtype == object:
        raise InputError(name, value, "is ragged or holds non-numbers", fix)
    if raw.dtype.kind in "US":
        raise InputError(name, value, "holds strings, not numbers", fix)
    want_complex = np.issubdtype(np.dtype(dtype), np.complexfloating)
    if np.issubdtype(raw.dtype, np.complexfloating) and not want_complex:
        raise InputError(name, value, "is complex where a real array is expected",
                         fix or "pass the real part explicitly if that is what you mean")
    if raw.dtype.kind == "b":
        raise InputError(name, value, "holds booleans, not numbers", fix)
    out = np.array(raw, dtype=dtype, copy=True)
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if out.ndim not in allowed:
            want = " or ".join(str(d) for d in allowed)
            raise InputError(name, value, f"must have {want} dimension(s), got shape {out.shape}", fix)
    if shape is not None:
        ok = out.ndim == len(shape) and all(w is None or w == g for w, g in zip(shape, out.shape))
        if not ok:
            want = "(" + ", ".join("any" if w is None else str(w) for w in shape) + ")"
            raise InputError(name, value, f"must have shape {want}, got {out.shape}", fix)
    if min_size is not None and out.size < min_size:
        raise InputError(name, value, f"needs at least {min_size} element(s), got {out.size}", fix)
    if np.issubdtype(out.dtype, np.inexact):
        bad = np.isinf(out) if allow_nan else ~np.isfinite(out)
        if np.any(bad):
            idx = tuple(int(i) for i in np.argwhere(bad)[0])
            what = "infinite" if allow_nan else "NaN or infinite"
            raise InputError(name, value, f"has {int(bad.sum())} {what} element(s), first at index {idx}",
                             fix)
    check = out[~np.isnan(out)] if (allow_nan and np.issubdtype(out.dtype, np.floating)) else out
    if np.iscomplexobj(check):
        check = np.abs(check) if (positive or nonnegative) else check
    problem = _bounds_problem(check, positive=positive, nonnegative=nonnegative,
                              greater_than=greater_than, minimum=minimum, maximum=maximum, unit=unit)
    if problem:
        raise InputError(name, value, f"every element {problem}", fix)
    return out


def same_shape(**arrays):
    """Check that the named arrays share one shape; return that shape.

    ``same_shape(x=x, px=px)`` raises an :class:`InputError` naming the first array whose
    shape differs from the first one's.
    """
    items = list(arrays.items())
    first_name, first = items[0]
    ref = np.shape(first)
    for name, a in items[1:]:
        if np.shape(a) != ref:
            raise InputError(name, a, f"has shape {np.shape(a)} but {first_name} has {ref}",
                             "give arrays of the same shape")
    return ref


def choice(name, value, options, fix=""):
    """Return ``value`` if it is one of ``options``, else raise naming the options."""
    try:
        ok = value in options
    except TypeError:
        ok = False
    if not ok:
        listed = ", ".join(repr(o) for o in options)
        raise InputError(name, value, f"must be one of {listed}", fix)
    return value


def plausible(name, value, low, high, unit, hint, *, stacklevel=3):
    """Warn (:class:`~beamkit.errors.BeamkitWarning`) when ``value`` lies outside [low, high].

    For numbers that are legal but probably given in the wrong unit (a 100 m magnet, a
    20 000 T field): the computation goes on, the reader is told.
    """
    x = np.abs(np.asarray(value, dtype=float))
    if x.size and (np.nanmax(x) > high or np.nanmin(x) < low):
        warnings.warn(f"{name} = {_fmt(value)} {unit} is outside the plausible range "
                      f"[{low:g}, {high:g}] {unit}; {hint}", BeamkitWarning, stacklevel=stacklevel)


def physical_memory_bytes():
    """The machine's physical memory in bytes (or None when it cannot be told).

    Physical, not currently free, memory: the limit must not change with what other
    processes happen to hold, or the same call would pass or fail from one minute to the next.
    """
    try:
        import os

        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def fits_in_memory(name, value, need_bytes, what, fix, *, fraction=0.8):
    """Refuse, before allocating, a request for more than ``fraction`` of the physical memory.

    Such a request cannot be met without swapping or being killed (taking other work on the
    machine with it). ``what`` says what would be stored (e.g. "recording 1e8 states of 100
    particles"); the :class:`InputError` names the argument that asked for it, with sizes in GiB.
    """
    total = physical_memory_bytes()
    if total is not None and need_bytes > fraction * total:
        raise InputError(name, value, f"{what} needs {need_bytes / 2**30:.3g} GiB, more than "
                         f"{fraction:.0%} of the {total / 2**30:.3g} GiB of memory of this machine", fix)


def _fmt(value):
    a = np.asarray(value, dtype=float)
    if a.size == 1:
        return f"{a.item():.6g}"
    return f"[{np.nanmin(a):.6g} .. {np.nanmax(a):.6g}]"
