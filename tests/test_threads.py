"""The thread-count helper reads affinity and cgroup quotas (fed fake files)."""

import os

import numba
import pytest

from beamkit import _threads
from beamkit.errors import InputError


def _write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return str(p)


@pytest.mark.parametrize("text, cpus", [
    ("200000 100000\n", 2.0),     # two CPUs
    ("150000 100000\n", 1.5),     # one and a half: rounded up to 2 threads
    ("50000 100000\n", 0.5),      # half a CPU (Binder-like): 1 thread
    ("max 100000\n", None),       # no limit
    ("garbage\n", None),
    ("", None),
])
def test_parse_cpu_max(text, cpus):
    assert _threads.parse_cpu_max(text) == cpus


def test_parse_cfs_v1():
    assert _threads.parse_cfs("100000\n", "100000\n") == 1.0
    assert _threads.parse_cfs("-1\n", "100000\n") is None


def test_available_cpus_capped_by_quota(tmp_path):
    affinity = len(os.sched_getaffinity(0))
    none = str(tmp_path / "absent")
    for text, expected in (("50000 100000", 1), ("150000 100000", min(affinity, 2)),
                           ("max 100000", affinity), ("6400000 100000", affinity)):
        path = _write(tmp_path, "cpu.max", text)
        assert _threads.available_cpus(path, (none, none)) == expected
    # cgroup v1 when v2 is absent
    q = _write(tmp_path, "q", "100000")
    p = _write(tmp_path, "p", "100000")
    assert _threads.available_cpus(none, (q, p)) == 1
    assert _threads.available_cpus(none, (none, none)) == affinity


def test_affinity_is_respected(monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0})
    assert _threads.available_cpus("/nonexistent", ("/nonexistent", "/nonexistent")) == 1


def test_override_by_environment_and_function(monkeypatch):
    monkeypatch.setenv(_threads.ENV_VAR, "1")
    assert _threads.num_threads() == 1
    _threads.set_num_threads(3)
    try:
        assert _threads.num_threads() == 3
    finally:
        _threads.set_num_threads(None)
    monkeypatch.setenv(_threads.ENV_VAR, "zero")
    with pytest.raises(InputError, match="BEAMKIT_NUM_THREADS"):
        _threads.num_threads()
    with pytest.raises(InputError, match="positive"):
        _threads.set_num_threads(0)


def test_numba_threads_never_above_numba_ceiling(monkeypatch):
    ceiling = numba.config.NUMBA_NUM_THREADS
    monkeypatch.setenv(_threads.ENV_VAR, str(ceiling + 5))
    assert _threads.numba_threads() == ceiling
    assert numba.get_num_threads() == ceiling
    # small jobs use fewer threads: 10 items at >= 8 per thread -> 1 thread
    assert _threads.numba_threads(10, 8) == 1
    assert numba.get_num_threads() == 1
    assert _threads.numba_threads(10**9, 1) == ceiling


def test_run_chunks_covers_every_item_once(monkeypatch):
    # Pieces must tile range(n) exactly, on one thread or several, with the sizes asked for.
    import threading

    for threads in ("1", "2"):
        monkeypatch.setenv(_threads.ENV_VAR, threads)
        seen = []
        lock = threading.Lock()

        def func(lo, hi, seen=seen, lock=lock):
            with lock:
                seen.append((lo, hi))

        _threads.run_chunks(10_001, func, min_per_task=1000, max_per_task=3000)
        covered = sorted(seen)
        assert covered[0][0] == 0 and covered[-1][1] == 10_001
        assert all(a[1] == b[0] for a, b in zip(covered[:-1], covered[1:]))
        assert all(1000 <= hi - lo <= 3000 for lo, hi in covered)
    assert _threads.run_chunks(0, lambda lo, hi: None) == 0
    # fewer items than one piece's minimum: one thread, one piece
    monkeypatch.setenv(_threads.ENV_VAR, "2")
    assert _threads.run_chunks(500, lambda lo, hi: None, min_per_task=4096) == 1


def test_blas_threads_restores_the_count():
    controls = _threads._openblas_controls()
    if controls is None:
        pytest.skip("numpy's BLAS is not an OpenBLAS this helper can find")
    before = controls[1]()
    with _threads.blas_threads(1) as n:
        assert n == 1 and controls[1]() == 1
    assert controls[1]() == before
