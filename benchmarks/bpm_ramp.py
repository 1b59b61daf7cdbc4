"""Benchmark: analysis of a whole ramp, 48 BPMs x 20 000 turns of plate signals.

Times :func:`beamkit.bpm.analyse_ramp` (offset and gain correction, modes, centroid-
corrected quadrupole term, Eq. 9 for 24 BPM pairs and for all 48 BPMs, every turn) on
simulated signals, best of a few repeats, and checks the result against the truth first.
The simulation itself (and the MAD-X optics) is not timed.
"""

from __future__ import annotations


def main(n_turns=20000):
    import numpy as np
    from run import best_time as _best

    from beamkit import bpm

    optics = bpm.bpm_optics(bpm.booster_like_ring())
    truth = bpm.ramp_truth(n_turns, growth_turn=n_turns // 2)
    machine = bpm.make_machine(optics, seed=0)
    sig = bpm.simulate_ramp(machine, truth, seed=1)
    gains, offsets = sig.gain_calibration, sig.offset_estimate
    geometry = (machine.radius_m, machine.plate_angle_rad)

    def per_turn():
        return bpm.analyse_ramp(sig.signals, optics, *geometry, truth.sigma_p2,
                                gains=gains, offsets=offsets)

    def binned_exact():
        return bpm.analyse_ramp(sig.signals, optics, *geometry, truth.sigma_p2,
                                gains=gains, offsets=offsets, turns_per_bin=100, exact=True)

    res = per_turn()
    rel = np.abs(res.eps_x_m / truth.eps_x_m - 1)
    # per turn with 1e-3 plate noise: tens of percent at the end of the ramp; check the bulk
    assert np.median(rel) < 0.2, np.median(rel)
    t1 = _best(per_turn)
    t2 = _best(binned_exact)
    print(f"bpm_ramp: {len(optics.names)} BPMs x {n_turns} turns: analyse_ramp per turn (leading order) "
          f"{t1:.3f} s; 100-turn bins with exact inversion {t2:.3f} s")
    return {"per_turn_s": t1, "binned_exact_s": t2}


if __name__ == "__main__":
    main()
