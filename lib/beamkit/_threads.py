"""How many threads beamkit's compiled and BLAS-heavy code may use on this machine.

A process may run on a host with many cores but be allowed only a few of them: by its CPU
affinity (``taskset``, a batch scheduler) or by a cgroup CPU quota (a container, Binder,
a CI runner). numba and OpenBLAS start one thread per *host* core by default; on a quota
of one CPU that makes every parallel region wait for descheduled threads. The helpers here
give the number of CPUs the process can really use:

``n = min(len(os.sched_getaffinity(0)), ceil(quota / period))``

read from cgroup v2 (``/sys/fs/cgroup/cpu.max``: ``"<quota> <period>"`` or ``"max <period>"``)
or cgroup v1 (``cpu.cfs_quota_us`` and ``cpu.cfs_period_us``, quota ``-1`` meaning none).
The user overrides it with the environment variable ``BEAMKIT_NUM_THREADS`` or with
:func:`set_num_threads`; the result never exceeds numba's own ceiling
``numba.config.NUMBA_NUM_THREADS`` (set by ``NUMBA_NUM_THREADS``), which is respected.
"""

from __future__ import annotations

import contextlib
import ctypes
import glob
import math
import os

from .errors import InputError

__all__ = ["available_cpus", "blas_threads", "cpu_quota", "num_threads", "numba_threads", "run_chunks",
           "set_num_threads"]

ENV_VAR = "BEAMKIT_NUM_THREADS"
_CGROUP_V2 = "/sys/fs/cgroup/cpu.max"
_CGROUP_V1 = ("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", "/sys/fs/cgroup/cpu/cpu.cfs_period_us")
_user_threads = None  # set by set_num_threads


def _read(path):
    try:
        with open(path, encoding="ascii") as f:
            return f.read()
    except OSError:
        return None


def parse_cpu_max(text):
    """CPUs allowed by a cgroup v2 ``cpu.max`` text (``"200000 100000"`` -> 2.0).

    Returns ``None`` for no limit (``"max 100000"``) or text that cannot be read.
    """
    if not text:
        return None
    parts = text.split()
    if len(parts) != 2 or parts[0] == "max":
        return None
    try:
        quota, period = float(parts[0]), float(parts[1])
    except ValueError:
        return None
    return quota / period if quota > 0 and period > 0 else None


def parse_cfs(quota_text, period_text):
    """CPUs allowed by cgroup v1 ``cpu.cfs_quota_us`` / ``cpu.cfs_period_us`` (``-1``: no limit)."""
    try:
        quota, period = float(quota_text.strip()), float(period_text.strip())
    except (AttributeError, ValueError):
        return None
    return quota / period if quota > 0 and period > 0 else None


def cpu_quota(cpu_max_path=_CGROUP_V2, cfs_paths=_CGROUP_V1):
    """CPUs allowed by the cgroup quota (a float, e.g. 1.5), or ``None`` without one.

    cgroup v2 is read first, then v1. The paths are arguments so that tests can feed files.
    """
    q = parse_cpu_max(_read(cpu_max_path))
    if q is None and cfs_paths:
        q = parse_cfs(_read(cfs_paths[0]), _read(cfs_paths[1]))
    return q


def available_cpus(cpu_max_path=_CGROUP_V2, cfs_paths=_CGROUP_V1):
    """CPUs this process may use: affinity, capped by the cgroup quota (rounded up), >= 1."""
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        n = os.cpu_count() or 1
    q = cpu_quota(cpu_max_path, cfs_paths)
    if q is not None:
        n = min(n, max(1, math.ceil(q - 1e-9)))
    return max(1, n)


def set_num_threads(n):
    """Fix the thread count for beamkit's kernels (``None`` returns to the automatic choice)."""
    global _user_threads
    if n is None:
        _user_threads = None
        return
    from ._validate import integer

    _user_threads = integer("n", n, minimum=1, fix="give a positive number of threads, or None")


def num_threads():
    """Threads beamkit may use: :func:`set_num_threads`, else ``$BEAMKIT_NUM_THREADS``, else
    :func:`available_cpus`.

    Raises
    ------
    beamkit.InputError
        If ``BEAMKIT_NUM_THREADS`` is not a positive integer.
    """
    if _user_threads is not None:
        return _user_threads
    env = os.environ.get(ENV_VAR)
    if env not in (None, ""):
        try:
            n = int(env)
        except ValueError:
            n = 0
        if n < 1:
            raise InputError(ENV_VAR, env, "must be a positive integer",
                             f"unset {ENV_VAR} or set it to e.g. 1 or 2")
        return n
    return available_cpus()


def numba_threads(work_items=None, min_items_per_thread=1):
    """Set and return numba's thread count for the next parallel call.

    At most :func:`num_threads`, at most ``numba.config.NUMBA_NUM_THREADS`` (numba's
    ceiling, fixed at start-up), and at most ``work_items // min_items_per_thread`` so
    that a small job does not wake threads that have nothing to do.
    """
    import numba

    n = min(num_threads(), numba.config.NUMBA_NUM_THREADS)
    if work_items is not None:
        n = min(n, max(1, int(work_items) // max(1, int(min_items_per_thread))))
    n = max(1, n)
    numba.set_num_threads(n)
    return n


_OPENBLAS = []  # [(set, get)] once looked up; empty list inside when not found


def _openblas_controls():
    """``(set_num_threads, get_num_threads)`` of the OpenBLAS that numpy loaded, or None.

    numpy's wheels bundle ``scipy_openblas`` (symbols ``scipy_openblas_*64_``); other
    builds export ``openblas_*``. A numpy linked to another BLAS gives None (no control).
    """
    if not _OPENBLAS:
        import numpy

        found = None
        here = os.path.dirname(os.path.dirname(numpy.__file__))
        for path in sorted(glob.glob(os.path.join(here, "numpy.libs", "*openblas*"))):
            try:
                lib = ctypes.CDLL(path)  # already loaded by numpy: the same handle
            except OSError:
                continue
            for name in ("scipy_openblas_%s_num_threads64_", "openblas_%s_num_threads64_",
                         "openblas_%s_num_threads"):
                setter = getattr(lib, name % "set", None)
                getter = getattr(lib, name % "get", None)
                if setter is not None and getter is not None:
                    setter.argtypes = [ctypes.c_int]
                    getter.restype = ctypes.c_int
                    found = (setter, getter)
                    break
            if found:
                break
        _OPENBLAS.append(found)
    return _OPENBLAS[0]


@contextlib.contextmanager
def blas_threads(n=None):
    """Run a block with OpenBLAS limited to ``n`` threads (default :func:`num_threads`).

    OpenBLAS, like numba, starts one thread per host core; under a CPU quota or beside
    other work its threads wait for each other. Restores the previous count afterwards.
    Does nothing when numpy's BLAS is not an OpenBLAS it can find.
    """
    controls = _openblas_controls()
    if controls is None:
        yield None
        return
    setter, getter = controls
    before = getter()
    want = max(1, int(n if n is not None else num_threads()))
    setter(want)
    try:
        yield want
    finally:
        setter(before)


_POOLS = {}


def _pool(n):
    from concurrent.futures import ThreadPoolExecutor

    if n not in _POOLS:
        _POOLS[n] = ThreadPoolExecutor(max_workers=n, thread_name_prefix="beamkit")
    return _POOLS[n]


def run_chunks(n_items, func, *, min_per_task=1, max_per_task=None, tasks_per_thread=4):
    """Call ``func(lo, hi)`` over ``range(n_items)`` cut into pieces, on up to
    :func:`numba_threads` threads; return the number of threads used.

    The pieces are few and large (at most ``tasks_per_thread`` per thread, at least
    ``min_per_task`` items each) and each one is a whole job (all the steps of a field-map
    track, all the stages of a tune analysis) run by serial compiled code that releases
    the GIL. There is one fork and one join per call, and a thread that another process
    has descheduled takes fewer pieces instead of holding the others up at every step:
    the throughput under load stays at least that of one thread. ``func`` must only touch
    the items ``lo:hi``.
    """
    import numba

    n_items = int(n_items)
    if n_items <= 0:
        return 0
    threads = max(1, min(num_threads(), numba.config.NUMBA_NUM_THREADS,
                         n_items // max(1, int(min_per_task))))
    n_tasks = min(threads * tasks_per_thread, max(1, n_items // max(1, int(min_per_task))))
    if max_per_task:
        n_tasks = max(n_tasks, -(-n_items // int(max_per_task)))
    bounds = [n_items * i // n_tasks for i in range(n_tasks + 1)]
    pieces = [(lo, hi) for lo, hi in zip(bounds[:-1], bounds[1:]) if hi > lo]
    if threads == 1:
        for lo, hi in pieces:
            func(lo, hi)
        return 1
    futures = [_pool(threads).submit(func, lo, hi) for lo, hi in pieces]
    for f in futures:
        f.result()
    return threads
