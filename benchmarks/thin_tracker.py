"""A vectorised numpy thin-lens tracker: the baseline of the tracking benchmark.

Built from a :class:`beamkit.lattices.Lattice` (not from xtrack), with each thick
quadrupole and sextupole replaced by a kick at its centre (TEAPOT, one slice) between
expanded drifts, x' = px / (1 + delta). Bends must be off (a bend of angle 0 is a drift).
4D: delta is constant. Its results must agree with xtrack's thin line to rounding.
"""

from __future__ import annotations

from beamkit.elements import KINDS


def thin_program(lattice):
    """(kind, value) steps of one turn: ("drift", L), ("quad", k1 l), ("sext", k2 l)."""
    steps = []
    s = 0.0

    def drift(length):
        if length > 1e-12:
            if steps and steps[-1][0] == "drift":
                steps[-1] = ("drift", steps[-1][1] + length)
            else:
                steps.append(("drift", length))

    for mag in sorted(lattice.magnets, key=lambda m: m.at_m):
        kind = KINDS[mag.kind]
        if kind.per_length and lattice.strength(mag, kind.strength) != 0:
            raise ValueError("the numpy thin tracker needs the bends off (theta = 0)")
        drift(mag.start_m - s)
        if kind.thin_kick is not None:
            drift(mag.length_m / 2)
            steps.append((kind.thin_kick, kind.integrated_strength(lattice, mag)))
            drift(mag.length_m / 2)
        else:
            drift(mag.length_m)
        s = mag.end_m
    drift(lattice.length_m - s)
    return steps


def track(steps, x, px, y, py, delta, n_turns):
    """Track in place for ``n_turns``; arrays of shape (n_particles,)."""
    inv = 1.0 / (1.0 + delta)
    for _ in range(n_turns):
        for kind, value in steps:
            if kind == "drift":
                x += value * px * inv
                y += value * py * inv
            elif kind == "quad":
                px -= value * x
                py += value * y
            else:  # sextupole: dpx = -k2l/2 (x^2 - y^2), dpy = k2l x y
                px -= 0.5 * value * (x * x - y * y)
                py += value * x * y
    return x, px, y, py
