"""Peak memory of beamkit.fieldmap.track for N particles (by hand; not part of the tests).

    python benchmarks/memory.py 1e7

Prints the peak of Python-tracked allocations inside ``track`` (tracemalloc) and the
process's maximum resident set before and after (which includes the caller's beam).
Memory does not depend on the number of steps, so 4 RK4 steps are tracked.
"""

import resource
import sys
import time
import tracemalloc

import numpy as np

from beamkit.fieldmap import find_reference_orbit, synthetic_combined_function_magnet, track


def main(n):
    fm = synthetic_combined_function_magnet()
    ref = find_reference_orbit(fm, 2.784e9, 1.0, x_middle=0.0043)
    rng = np.random.default_rng(1)
    beam = {"x": ref.entry.x_m + rng.normal(0, 3e-3, n), "px": float(ref.px[0]) + rng.normal(0, 3e-4, n),
            "y": rng.normal(0, 3e-3, n), "py": rng.normal(0, 3e-4, n), "delta": rng.normal(0, 1e-3, n)}
    track(fm, {k: v[:10] for k, v in beam.items()}, -1.8, -1.7, 20, p0c=2.784e9, q0=1)  # compile
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    tracemalloc.start()
    t = time.perf_counter()
    track(fm, beam, -1.8, -1.78, 4, "rk4", p0c=2.784e9, q0=1, progress=False)
    t = time.perf_counter() - t
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"N = {n:.0e}: tracemalloc peak in track() {peak / 2**20:.0f} MB ({peak / n:.1f} bytes per "
          f"particle); the beam given is {5 * 8 * n / 2**20:.0f} MB; max RSS {rss0:.0f} MB before "
          f"track(), {rss1:.0f} MB after; {t:.1f} s for 4 steps")


if __name__ == "__main__":
    main(int(float(sys.argv[1])) if len(sys.argv) > 1 else 10**6)
