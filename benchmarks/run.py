"""Benchmarks: every figure is a ratio against a baseline timed in the same run.

Run with `make bench` (or `python benchmarks/run.py [case ...]`). Each case times several
implementations of the same task with the best of a few repeats (the minimum is the least
disturbed by other load) and prints their ratio to the case's baseline; rows marked
"(baseline)" start a new group. Results are checked to agree before they are timed. Cases
marked "under load" also run with one busy process beside them (a second process spinning
on a core), as on a shared or quota-limited machine.

Every run writes ``benchmarks/results/bench-<UTC time>.json`` (and ``latest.json``) with the
table, the machine (CPU, affinity, cgroup quota, threads used, load average), the versions
and the ratios.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import multiprocessing
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # thin_tracker.py and peer_field.py beside this file

CASES = {}
NOTES = []  # checks and measurements printed by the running case, kept for the JSON record


def note(text):
    """Print a line of a case's checks or measurements and keep it for the record."""
    print(f"    {text}")
    NOTES.append(text)


def _spin():
    while True:
        pass


@contextlib.contextmanager
def one_busy_process():
    """One competing process spinning on a core for the duration of the block."""
    proc = multiprocessing.get_context("spawn").Process(target=_spin, daemon=True)
    proc.start()
    time.sleep(0.3)  # let it start spinning
    try:
        yield
    finally:
        proc.terminate()
        proc.join()


@contextlib.contextmanager
def beamkit_threads(n):
    """Run a block with beamkit's kernels limited to ``n`` threads (None: automatic)."""
    from beamkit import _threads

    _threads.set_num_threads(n)
    try:
        yield
    finally:
        _threads.set_num_threads(None)


def case(func):
    CASES[func.__name__] = func
    return func


def best_time(func, repeat=5):
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - t0)
    return best


@case
def periodic_optics():
    """Periodic optics of the LHC cell: MAD-X twiss (baseline), xtrack twiss, thick matrices."""
    from beamkit import lattices, madx, matrices, optics

    cell = lattices.lhc_fodo_cell()
    line = cell.to_xtrack()
    line.twiss(method="4d")  # compile / warm up
    with madx.session() as mad:
        mad.load(cell)
        q_madx = optics.twiss_madx(mad).summary["q_x"]
        q_mat = matrices.periodic_twiss(cell.one_turn_matrix("x")).tune
        assert abs(q_madx - q_mat) < 1e-9
        return {
            "MAD-X twiss (baseline)": best_time(lambda: mad.input("twiss;")),
            "xtrack twiss 4d": best_time(lambda: line.twiss(method="4d")),
            "beamkit one-turn matrix + periodic_twiss": best_time(
                lambda: matrices.periodic_twiss(cell.one_turn_matrix("x"))),
        }


@case
def bpm_ramp_analysis():
    """Emittances over a whole ramp from BPM quadrupole moments: 48 BPMs x 20 000 turns
    (beamkit.bpm.analyse_ramp per turn at leading order, and in 100-turn bins with the exact
    inversion); the goal is under a second. No peer code exists for this method."""
    import bpm_ramp

    out = bpm_ramp.main()
    return {
        "analyse_ramp, every turn, leading order (reference)": out["per_turn_s"],
        "analyse_ramp, 100-turn bins, exact inversion": out["binned_exact_s"],
    }


@case
def linear_tracking():
    """1000 particles x 1024 turns: numpy one-turn matrix (baseline) against xtrack."""
    from beamkit import lattices, tracking

    cell = lattices.lhc_fodo_cell(bends_on=False)
    line = cell.to_xtrack()
    m = cell.one_turn_matrix("x")[:2, :2]
    rng = np.random.default_rng(2026)
    x0 = rng.normal(0, 1e-4, 1000)
    n_turns = 1024

    def numpy_matrix():
        out = np.empty((x0.size, n_turns))
        xv = np.vstack([x0, np.zeros_like(x0)])
        for turn in range(n_turns):
            out[:, turn] = xv[0]
            xv = m @ xv
        return out

    ref = numpy_matrix()
    tbt = tracking.track_turns(line, n_turns, x=x0)
    # Thick quadrupoles in xtrack are exact linear maps on-momentum: agreement to rounding.
    assert np.allclose(tbt.x, ref, atol=1e-15 + 1e-10 * np.abs(ref).max())
    return {
        "numpy one-turn matrix (baseline)": best_time(numpy_matrix, 3),
        "xtrack, thick elements": best_time(lambda: tracking.track_turns(line, n_turns, x=x0), 3),
    }


def _tune_signals(n, rng, n_turns=1024):
    """n signals of n_turns: tunes uniform in (0.02, 0.48), a tenth of them in
    (0.245, 0.255), random phases and a DC offset (dispersive orbit) of 1 mm."""
    qs = np.concatenate([rng.uniform(0.02, 0.48, n - n // 10), rng.uniform(0.245, 0.255, n // 10)])
    beta, alpha = 30.0, -1.2
    k = np.arange(n_turns)
    phi = 2 * np.pi * qs[:, None] * k + rng.uniform(0, 2 * np.pi, (n, 1))
    orbit = rng.normal(0, 1e-3, (n, 1))
    x = np.sqrt(beta) * np.cos(phi) * 1e-4 + orbit
    px = -np.sqrt(1 / beta) * (np.sin(phi) + alpha * np.cos(phi)) * 1e-4
    return qs, x, px, beta, alpha


@case
def tune_analysis():
    """Tunes of 1e3 and 1e4 signals of 1024 turns (spread over (0.02, 0.48), near 0.25 and DC
    offset): nafflib loop (baseline) and PyNAFF loop vs beamkit.tune.tunes, idle, one
    thread, and under load (one busy process). Time per signal."""
    import nafflib

    from beamkit import tune

    timings = {}
    for n in (1_000, 10_000):
        qs, x, px, beta, alpha = _tune_signals(n, np.random.default_rng(11))
        z = tune.normalised_signal(x, px, beta, alpha)
        m = min(n, 1000)  # the loops cost the same per signal whatever n: check 1000 of them
        got = {
            "nafflib": np.array([nafflib.tune(row) for row in z[:m]]) % 1.0,
            "PyNAFF": np.array([tune.naff(row) for row in z[:m]]),
            "tunes": tune.tunes(x, px, beta, alpha)[:m],
        }
        for name, q in got.items():
            err = np.abs(q - qs[:m]).max()
            note(f"N = {n}: max |error| {name:8s} {err:.1e}")
            if name != "PyNAFF":  # PyNAFF's frequency search stops at ~1e-7
                assert err <= 1e-10, (name, err)
        label = f"N = {n:>6,d}"
        # and time 300 of them, best of 3 (the least disturbed by other load, as for beamkit)
        timings[f"nafflib loop, complex signal (baseline), {label}"] = best_time(
            lambda: [nafflib.tune(row) for row in z[:300]], 3) / 300
        timings[f"PyNAFF loop, complex signal, {label}"] = best_time(
            lambda: [tune.naff(row) for row in z[:300]], 3) / 300
        run = lambda: tune.tunes(x, px, beta, alpha)  # noqa: E731
        timings[f"beamkit.tune.tunes, idle, {label}"] = best_time(run, 3) / n
        with beamkit_threads(1):
            timings[f"beamkit.tune.tunes, one thread, {label}"] = best_time(run, 3) / n
        with one_busy_process():
            timings[f"beamkit.tune.tunes, under load, {label}"] = best_time(run, 3) / n
    return timings


@case
def tracking_throughput():
    """Particle-turns per second, LHC cell with sextupoles (bends off): numpy thin tracker
    (baseline) vs xtrack."""
    import thin_tracker
    import xtrack as xt

    from beamkit import lattices, tracking

    cell = lattices.lhc_fodo_cell(bends_on=False, sextupoles=True, k2sext1=1.27667e-2, k2sext2=-2.53671e-2)
    thick = cell.to_xtrack()
    thin = tracking.thin_line(cell.to_xtrack(), 1)
    fast = tracking.thin_line(cell.to_xtrack(), 1)
    fast.build_tracker()
    fast.optimize_for_tracking(verbose=False)
    steps = thin_tracker.thin_program(cell)
    rng = np.random.default_rng(2026)
    timings = {}
    for n in (1_000, 10_000, 100_000):
        n_turns = max(10, 1_000_000 // n)
        x0, y0 = rng.normal(0, 1e-3, n), rng.normal(0, 1e-3, n)
        d0 = rng.normal(0, 1e-4, n)

        def numpy_run():
            return thin_tracker.track(steps, x0.copy(), np.zeros(n), y0.copy(), np.zeros(n), d0, n_turns)

        def xtrack_run(line):
            p = xt.Particles(p0c=thin.particle_ref.p0c[0], mass0=thin.particle_ref.mass0,
                             x=x0, y=y0, delta=d0)
            line.track(p, num_turns=n_turns)
            order = np.argsort(p.particle_id)
            return p.x[order], p.px[order], p.y[order], p.py[order]

        ref = numpy_run()
        for line in (thin, fast):
            got = xtrack_run(line)
            for a, b in zip(got, ref):
                # Same kicks and drifts, different operation order: rounding-level agreement.
                assert np.allclose(a, b, rtol=0, atol=1e-12 * max(1.0, np.abs(b).max()) + 1e-15), \
                    np.abs(a - b).max()
        label = f"N = {n:>7,d}, {n_turns} turns"
        work = n * n_turns
        t = best_time(numpy_run, 2)
        timings[f"numpy thin tracker (baseline), {label}"] = t
        for name, line in (("xtrack thick", thick), ("xtrack thin", thin),
                           ("xtrack thin, optimize_for_tracking", fast)):
            timings[f"{name}, {label}"] = best_time(lambda line=line: xtrack_run(line), 2)
        note(f"{label}: numpy {work / t:.3g} particle-turns/s")
    return timings


def _ps_beam(ref, n, rng):
    return {"x": ref.entry.x_m + rng.normal(0, 3e-3, n),
            "px": float(ref.px[0]) + rng.normal(0, 3e-4, n),
            "y": rng.normal(0, 3e-3, n), "py": rng.normal(0, 3e-4, n),
            "delta": rng.normal(0, 1e-3, n)}


@case
def fieldmap_under_load():
    """Field-map tracking throughput through the PS-like magnet (h = 5 mm): one thread
    (baseline, per N) vs automatic threads idle and with one busy process beside it.
    Time per particle-step."""
    from beamkit.fieldmap import find_reference_orbit, synthetic_combined_function_magnet, track

    fm = synthetic_combined_function_magnet()
    p0c = 2.784e9
    ref = find_reference_orbit(fm, p0c, 1.0, x_middle=0.0043)
    rng = np.random.default_rng(42)
    z0, z1, h = -1.8, 1.8, 5e-3
    timings = {}
    probe = _ps_beam(ref, 5000, rng)
    with beamkit_threads(1):
        one = track(fm, probe, z0, z1, 720, p0c=p0c, q0=1)
    many = track(fm, probe, z0, z1, 720, p0c=p0c, q0=1)
    assert not one.lost.any()
    for k in ("x", "px", "y", "py"):  # threads only split the particles: identical numbers
        assert np.array_equal(getattr(one, k), getattr(many, k)), k
    note("threaded and single-thread results identical (5000 particles, 720 steps)")
    for method, interp, sizes in (("rk4", "tricubic", (1_000, 10_000, 100_000, 1_000_000)),
                                  ("boris", "trilinear", (10_000, 1_000_000))):
        for n in sizes:
            b = _ps_beam(ref, n, rng)
            # enough work per run to time (>= 2e7 particle-steps), at most the full magnet
            steps = int(min(720, max(20, 2e7 // n)))
            zend = z0 + steps * h
            run = lambda b=b, steps=steps, zend=zend: track(  # noqa: E731
                fm, b, z0, zend, steps, method, interpolation=interp, p0c=p0c, q0=1, progress=False)
            label = f"{method}+{interp}, N = {n:>9,d}"
            repeat = 2 if n < 10**6 else 1
            with beamkit_threads(1):
                run()
                t1 = best_time(run, repeat)
            t_idle = best_time(run, repeat)
            with one_busy_process():
                t_busy = best_time(run, repeat)
            work = n * steps
            timings[f"one thread (baseline), {label}"] = t1 / work
            timings[f"threads, idle, {label}"] = t_idle / work
            timings[f"threads, one busy process beside, {label}"] = t_busy / work
            note(f"{label}: {work / t1:.3g} (1 thread), {work / t_idle:.3g} (idle), "
                 f"{work / t_busy:.3g} (busy beside) particle-steps/s")
    return timings


def _matched_steps(run, ref, candidates, target):
    """Smallest step count among ``candidates`` whose exit error is <= target (m)."""
    for steps in candidates:
        err = np.abs(run(steps)[[0, 2]] - ref[[0, 2]]).max()
        if err <= target:
            return steps, err
    raise AssertionError(f"no step count in {candidates} reaches {target:g} m")


@case
def fieldmap_peers():
    """One field (quartic combined-function magnet, 1 m), three trackers at the step count
    reaching the same exit accuracy against converged BFieldExpansion (4000 steps): the
    faster xtrack element (baseline) vs beamkit RK4+tricubic. Time per particle."""
    import peer_field as pf

    bfe, sb, brho = pf.elements()
    fm = pf.field_map(bfe, brho)
    rng = np.random.default_rng(7)
    probe = pf.beam(200, rng)
    ref = pf.track_xtrack(bfe, probe, 4000)
    timings = {}
    for target in (1e-9, 1e-6):
        chosen = {}
        rk4_steps = (6, 8, 10, 12, 16, 20, 24, 32, 40, 48, 64)
        boris_steps = (25, 32, 50, 64, 100, 200, 400, 800, 1000, 1600)
        for name, run, candidates in (
            ("beamkit rk4+tricubic", lambda s: pf.track_beamkit(fm, probe, s), rk4_steps),
            ("xtrack BFieldExpansion", lambda s: pf.track_xtrack(bfe, probe, s), rk4_steps),
            ("xtrack SplineBoris", lambda s: pf.track_xtrack(sb, probe, s), boris_steps),
        ):
            steps, err = _matched_steps(run, ref, candidates, target)
            chosen[name] = steps
            note(f"target {target:g} m: {name} needs {steps} steps (exit error {err:.2g} m)")
        xt_times = {}
        for name, el in (("xtrack BFieldExpansion", bfe), ("xtrack SplineBoris", sb)):
            n = 1_000 if chosen[name] > 200 else 10_000  # per-particle cost is flat in N
            b = pf.beam(n, rng)
            xt_times[name] = best_time(lambda el=el, b=b, s=chosen[name]: pf.track_xtrack(el, b, s), 2) / n
        fastest = min(xt_times, key=xt_times.get)
        for name, t in sorted(xt_times.items(), key=lambda kv: kv[0] != fastest):
            tag = " (baseline)" if name == fastest else ""
            timings[f"[{target:g} m] {name}, {chosen[name]} steps{tag}"] = t
        for n in (1_000, 10_000, 100_000, 1_000_000):
            b = pf.beam(n, rng)
            pf.track_beamkit(fm, {k: v[:10] for k, v in b.items()}, chosen["beamkit rk4+tricubic"])
            t = best_time(lambda b=b: pf.track_beamkit(fm, b, chosen["beamkit rk4+tricubic"]),
                          2 if n < 10**6 else 1)
            timings[f"[{target:g} m] beamkit rk4+tricubic, {chosen['beamkit rk4+tricubic']} steps, "
                    f"N = {n:>9,d}"] = t / n
    return timings


def track_peak_memory(n, s_end_m, n_steps):
    """Track ``n`` particles of the PS-like beam (seed 1) with RK4 from s = -1.8 m to ``s_end_m``
    in ``n_steps`` steps, after a 10-particle run that compiles the kernels.

    Returns (seconds, tracemalloc peak inside ``track`` in bytes, process max RSS before and
    after in MB). Used by the ``fieldmap_memory`` case and by ``memory.py``.
    """
    import resource
    import tracemalloc

    from beamkit.fieldmap import find_reference_orbit, synthetic_combined_function_magnet, track

    fm = synthetic_combined_function_magnet()
    ref = find_reference_orbit(fm, 2.784e9, 1.0, x_middle=0.0043)
    b = _ps_beam(ref, n, np.random.default_rng(1))
    track(fm, {k: v[:10] for k, v in b.items()}, -1.8, -1.7, 20, p0c=2.784e9, q0=1)  # compile
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    tracemalloc.start()
    t = time.perf_counter()
    track(fm, b, -1.8, s_end_m, n_steps, "rk4", p0c=2.784e9, q0=1, progress=False)
    t = time.perf_counter() - t
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return t, peak, rss0, rss1


@case
def fieldmap_memory():
    """Peak memory of fieldmap.track at N = 1e6 (tracemalloc and RSS), 20 RK4 steps."""
    n = 1_000_000
    t, peak, rss0, rss1 = track_peak_memory(n, -1.7, 20)
    note(f"N = 1e6: tracemalloc peak inside track() {peak / 2**20:.0f} MB "
         f"({peak / n:.0f} bytes per particle; the input beam itself is {5 * 8 * n / 2**20:.0f} MB); "
         f"process max RSS {rss0:.0f} MB before, {rss1:.0f} MB after")
    return {"fieldmap.track rk4+tricubic, N = 1e6, 20 steps (baseline)": t / (20 * n)}


def _git_commit():
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=HERE, capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def _machine():
    import numba

    from beamkit import _threads

    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), cpu)
    except OSError:
        pass
    return {
        "cpu": cpu, "platform": platform.platform(), "python": platform.python_version(),
        "cpu_count": os.cpu_count(), "affinity": len(os.sched_getaffinity(0)),
        "cgroup_cpu_quota": _threads.cpu_quota(), "beamkit_threads": _threads.num_threads(),
        "numba_num_threads": numba.config.NUMBA_NUM_THREADS,
        "numba_threading_layer": numba.config.THREADING_LAYER,
        "load_average_at_start": os.getloadavg(),
    }


def _versions():
    from importlib import metadata

    out = {}
    for name in ("beamkit", "numpy", "scipy", "numba", "xtrack", "xobjects", "cpymad", "nafflib",
                 "PyNAFF", "scipy-openblas64"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


_UNITS = {"fieldmap_under_load": "per particle-step", "fieldmap_memory": "per particle-step",
          "fieldmap_peers": "per particle", "tune_analysis": "per signal"}


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("cases", nargs="*", help=f"cases to run (default all): {', '.join(CASES)}")
    parser.add_argument("--results", default=str(HERE / "results"), help="folder for the JSON record")
    args = parser.parse_args()
    now = datetime.datetime.now(datetime.timezone.utc)
    record = {"started_utc": now.isoformat(timespec="seconds"),
              "git_commit": _git_commit(), "machine": _machine(), "versions": _versions(), "cases": {}}
    t_all = time.perf_counter()
    for name in args.cases or CASES:
        NOTES.clear()
        load_at_start = os.getloadavg()  # "idle" rows mean: no busy process of ours; others may run
        print(f"\n{name}: {' '.join(CASES[name].__doc__.split())}")
        t_case = time.perf_counter()
        timings = CASES[name]()
        baseline = None
        per = _UNITS.get(name, "per run")
        print(f"  {'implementation':78s} {'best time':>12s} {'vs baseline':>12s}")
        rows = []
        for label, seconds in timings.items():
            if baseline is None or "(baseline)" in label:
                baseline = seconds  # each "(baseline)" row starts a new group
            ratio = baseline / seconds
            shown = f"{seconds * 1e9:9.2f} ns" if seconds < 1e-5 else \
                f"{seconds * 1e6:9.2f} us" if seconds < 1e-2 else f"{seconds * 1e3:9.2f} ms"
            print(f"  {label:78s} {shown:>12s} {ratio:11.3g}x")
            rows.append({"label": label, "seconds": seconds, "per": per, "ratio_to_baseline": ratio})
        record["cases"][name] = {"description": " ".join(CASES[name].__doc__.split()), "rows": rows,
                                 "notes": list(NOTES), "wall_s": time.perf_counter() - t_case,
                                 "load_average_at_start": load_at_start}
    record["total_wall_s"] = time.perf_counter() - t_all
    out = Path(args.results)
    out.mkdir(parents=True, exist_ok=True)
    stamp = record["started_utc"].replace(":", "").replace("-", "").replace("+0000", "Z")
    text = json.dumps(record, indent=1)
    (out / f"bench-{stamp}.json").write_text(text)
    (out / "latest.json").write_text(text)
    print(f"\nrecord written to {out / f'bench-{stamp}.json'} (total {record['total_wall_s']:.0f} s)")


if __name__ == "__main__":
    main()
