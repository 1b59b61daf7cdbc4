"""Peak memory of beamkit.fieldmap.track for N particles (by hand; not part of the tests).

    python benchmarks/memory.py 1e7

Prints the peak of Python-tracked allocations inside ``track`` (tracemalloc) and the
process's maximum resident set before and after (which includes the caller's beam).
Memory does not depend on the number of steps, so 4 RK4 steps are tracked.
"""

import sys

from run import track_peak_memory  # benchmarks/ is on the path when this file is run


def main(n):
    t, peak, rss0, rss1 = track_peak_memory(n, -1.78, 4)
    print(f"N = {n:.0e}: tracemalloc peak in track() {peak / 2**20:.0f} MB ({peak / n:.1f} bytes per "
          f"particle); the beam given is {5 * 8 * n / 2**20:.0f} MB; max RSS {rss0:.0f} MB before "
          f"track(), {rss1:.0f} MB after; {t:.1f} s for 4 steps")


if __name__ == "__main__":
    main(int(float(sys.argv[1])) if len(sys.argv) > 1 else 10**6)
