"""Benchmarks: every figure is a ratio against a baseline timed in the same run.

Run with `make bench`. Each case times several implementations of the same task with
the best of a few repeats (the minimum is the least disturbed by other load) and prints
their ratio to the case's baseline. Results are checked to agree before they are timed.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # thin_tracker.py beside this file

CASES = {}


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


def _signals(qs, n_turns, rng):
    beta, alpha = 30.0, -1.2
    k = np.arange(n_turns)
    phi = 2 * np.pi * qs[:, None] * k + rng.uniform(0, 2 * np.pi, (qs.size, 1))
    orbit = rng.normal(0, 1e-3, (qs.size, 1))  # dispersive orbit D * delta: a DC offset
    x = np.sqrt(beta) * np.cos(phi) * 1e-4 + orbit
    px = -np.sqrt(1 / beta) * (np.sin(phi) + alpha * np.cos(phi)) * 1e-4
    return x, px, beta, alpha


def _tune_case(qs, label):
    from beamkit import tune

    x, px, beta, alpha = _signals(qs, 1024, np.random.default_rng(11))
    results = {}

    def pynaff_loop():
        z = tune.normalised_signal(x, px, beta, alpha)
        results["PyNAFF"] = np.array([tune.naff(row) for row in z])

    def vectorised():
        results["tunes"] = tune.tunes(x, px, beta, alpha)

    def vectorised_real():
        results["tunes_x"] = tune.tunes(x)

    timings = {
        f"PyNAFF loop, complex signal (baseline) [{label}]": best_time(pynaff_loop, 1),
        f"beamkit.tune.tunes, complex signal [{label}]": best_time(vectorised, 3),
        f"beamkit.tune.tunes, x only [{label}]": best_time(vectorised_real, 3),
    }
    for key, name in (("PyNAFF", "PyNAFF"), ("tunes", "tunes complex"), ("tunes_x", "tunes x only")):
        print(f"    max |error| {name:14s}: {np.abs(results[key] - qs).max():.1e}")
    return timings


@case
def tune_analysis_tracking_like():
    """1e4 particles x 1024 turns, tunes clustered as in tracking (0.2519 +- 1e-3)."""
    qs = 0.2519 + 1e-3 * np.random.default_rng(5).standard_normal(10_000)
    return _tune_case(qs, "clustered")


@case
def tune_analysis_uniform():
    """1e4 particles x 1024 turns, tunes uniform in (0.05, 0.45): the least favourable case."""
    qs = np.random.default_rng(6).uniform(0.05, 0.45, 10_000)
    return _tune_case(qs, "uniform")


@case
def tracking_throughput():
    """Particle-turns per second, LHC cell with sextupoles (bends off): numpy thin tracker (baseline) vs xtrack."""
    import xtrack as xt

    import thin_tracker
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
        for name, line in (("xtrack thick", thick), ("xtrack thin", thin), ("xtrack thin, optimize_for_tracking", fast)):
            timings[f"{name}, {label}"] = best_time(lambda line=line: xtrack_run(line), 2)
        print(f"    {label}: numpy {work / t:.3g} particle-turns/s")
    return timings


@case
def fieldmap_tracking():
    """Field-map tracking through the PS-like magnet (3.6 m). Group 1: time per particle
    at matched exit accuracy (~1e-10 m), scipy solve_ivp one particle at a time (baseline)
    vs beamkit RK4. Group 2: time per particle-step at h = 5 mm, xtrack
    BorisSpatialIntegrator on the same field (baseline) vs beamkit RK4+tricubic and
    Boris+trilinear."""
    import tracemalloc

    import xtrack as xt
    from scipy.constants import c as c_light
    from scipy.integrate import solve_ivp

    from beamkit.fieldmap import find_reference_orbit, synthetic_combined_function_magnet, track

    fm = synthetic_combined_function_magnet()
    p0c = 2.784e9
    ref = find_reference_orbit(fm, p0c, 1.0, x_middle=0.0043)
    z0, z1, n_steps = -1.8, 1.8, 720
    rng = np.random.default_rng(42)

    def beam(n):
        return {"x": ref.entry.x_m + rng.normal(0, 3e-3, n),
                "px": float(ref.px[0]) + rng.normal(0, 3e-4, n),
                "y": rng.normal(0, 3e-3, n), "py": rng.normal(0, 3e-4, n),
                "delta": rng.normal(0, 1e-3, n)}

    kq = c_light / p0c
    field = fm.field

    def rhs(z, s, P):
        x, y, px, py = s
        pz = np.sqrt(P * P - px * px - py * py)
        bx, by, bz = field(np.array([x]), np.array([y]), np.array([z]))
        return [px / pz, py / pz, kq * (py / pz * bz[0] - by[0]), kq * (bx[0] - px / pz * bz[0])]

    few = beam(4)
    fine = track(fm, few, z0, z1, 5760, "rk4", p0c=p0c, q0=1)

    def ivp():
        out = []
        for i in range(4):
            sol = solve_ivp(rhs, (z0, z1), [few["x"][i], few["y"][i], few["px"][i], few["py"][i]],
                            args=(1 + few["delta"][i],), method="RK45", rtol=1e-10, atol=1e-13)
            out.append(sol.y[0, -1])
        return np.array(out)

    err_ivp = np.abs(ivp() - fine.x).max()
    # beamkit RK4 steps for the same exit accuracy (error ~ h^4)
    n_matched = 90
    err_bk = np.abs(track(fm, few, z0, z1, n_matched, "rk4", p0c=p0c, q0=1).x - fine.x).max()
    print(f"    exit error vs RK4 with 5760 steps: solve_ivp (RK45, rtol 1e-10, same compiled "
          f"field) {err_ivp:.1e} m; beamkit RK4 {n_matched} steps {err_bk:.1e} m")
    timings = {}
    t = best_time(ivp, 2)
    timings["[per particle, matched accuracy] scipy solve_ivp, one by one (baseline)"] = t / 4
    for n in (1_000, 10_000, 100_000, 1_000_000):
        b = beam(n)
        track(fm, {k: v[:10] for k, v in b.items()}, z0, z1, 10, p0c=p0c, q0=1)
        t = best_time(lambda: track(fm, b, z0, z1, n_matched, "rk4", p0c=p0c, q0=1,
                                    progress=False), 2 if n < 10**6 else 1)
        timings[f"[per particle] beamkit rk4+tricubic, {n_matched} steps, N = {n:>9,d}"] = t / n

    for n in (1_000, 10_000):
        b = beam(n)

        def xt_run(b=b):
            parts = xt.Particles(p0c=p0c, mass0=xt.PROTON_MASS_EV, **b)
            xt.BorisSpatialIntegrator(fieldmap_callable=fm.field_function("tricubic"),
                                      s_start=z0, s_end=z1, n_steps=n_steps).track(parts)

        t = best_time(xt_run, 2)
        label = f"[per particle-step] xtrack BorisSpatialIntegrator, same field, N = {n:>9,d}"
        if n == 1_000:
            label += " (baseline)"
        timings[label] = t / (n * n_steps)
        print(f"    xtrack Boris N = {n}: {n * n_steps / t:.3g} particle-steps/s")

    for n in (1_000, 10_000, 100_000, 1_000_000):
        b = beam(n)
        steps = n_steps if n <= 100_000 else n_steps // 4
        for method, interp in (("rk4", "tricubic"), ("boris", "trilinear")):
            track(fm, {k: v[:10] for k, v in b.items()}, z0, z1, 10, method,
                  interpolation=interp, p0c=p0c, q0=1)  # compile / cache
            t = best_time(lambda: track(fm, b, z0, z1, steps, method, interpolation=interp,
                                        p0c=p0c, q0=1, progress=False), 2 if n < 10**6 else 1)
            timings[f"[per particle-step] beamkit {method}+{interp}, N = {n:>9,d}"] = t / (n * steps)
            print(f"    beamkit {method}+{interp} N = {n}: {n * steps / t:.3g} particle-steps/s")
    n = 1_000_000
    b = beam(n)
    tracemalloc.start()
    track(fm, b, z0, z1, 20, "rk4", p0c=p0c, q0=1, progress=False)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"    peak memory allocated by track() at N = 1e6: {peak / 2**20:.0f} MB "
          f"(the 8 per-particle arrays alone are {8 * 8 * n / 2**20:.0f} MB)")
    return timings


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("cases", nargs="*", help=f"cases to run (default all): {', '.join(CASES)}")
    args = parser.parse_args()
    for name in args.cases or CASES:
        timings = CASES[name]()
        baseline = None
        print(f"\n{name}: {CASES[name].__doc__.strip()}")
        print(f"  {'implementation':70s} {'best time':>13s} {'vs baseline':>13s}")
        unit = "per particle-step" if name == "fieldmap_tracking" else ""
        for label, seconds in timings.items():
            if baseline is None or "(baseline)" in label:
                baseline = seconds  # each "(baseline)" row starts a new group
            if unit:
                print(f"  {label:70s} {seconds * 1e9:10.2f} ns {baseline / seconds:12.3g}x")
            else:
                print(f"  {label:70s} {seconds * 1e3:10.2f} ms {baseline / seconds:12.3g}x")


if __name__ == "__main__":
    main()
