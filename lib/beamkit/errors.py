"""Exceptions raised by beamkit.

Every error that beamkit raises on bad input is one of these, so that a caller can
catch a named problem rather than a bare ``Exception``.
"""

__all__ = ["BeamkitError", "UnstableLatticeError", "MadxError", "FieldMapError", "OutsideFieldMapError"]


class BeamkitError(Exception):
    """Base class of all beamkit errors."""


class UnstableLatticeError(BeamkitError, ValueError):
    """The one-period transfer matrix has no stable periodic solution.

    Raised when ``|trace(M)| >= 2`` for the 2x2 block of a plane, which means the
    betatron motion is not bounded (no real phase advance exists).

    Attributes
    ----------
    trace : float
        The trace of the 2x2 one-period matrix that failed the test.
    plane : str or None
        The plane (``"x"`` or ``"y"``) when known.
    """

    def __init__(self, trace, plane=None, context=""):
        self.trace = float(trace)
        self.plane = plane
        where = f" in the {plane} plane" if plane else ""
        extra = f" ({context})" if context else ""
        super().__init__(
            f"unstable lattice{where}: |trace(M)| = {abs(self.trace):.6g} >= 2, "
            f"so there is no periodic Twiss solution{extra}"
        )


class MadxError(BeamkitError, RuntimeError):
    """MAD-X reported an error (or stopped) while running some input.

    Attributes
    ----------
    input : str
        The MAD-X input that caused the error.
    messages : list of str
        The error, fatal or warning lines MAD-X printed for that input.
    """

    def __init__(self, text, messages, reason="MAD-X reported an error"):
        self.input = text
        self.messages = list(messages)
        quoted = "\n".join("    " + line for line in text.strip().splitlines()[:20])
        said = "\n".join("    " + m for m in self.messages) or "    (no message printed)"
        super().__init__(f"{reason} for the input\n{quoted}\nMAD-X said:\n{said}")


class FieldMapError(BeamkitError, ValueError):
    """A magnetic field map is malformed or cannot be used as asked.

    Raised for NaN or infinite field values, unordered, repeated or unevenly spaced grid
    axes, missing or duplicated grid points in a table, arrays of the wrong shape, missing
    entries in a saved file, and requests outside the map (no extrapolation is done).
    """


class OutsideFieldMapError(FieldMapError):
    """A field value was asked for at a point outside the map's grid.

    Attributes
    ----------
    n_outside : int
        How many of the requested points lie outside.
    first : tuple of float
        The first such point ``(x, y, z)`` in m.
    """

    def __init__(self, n_outside, first, bounds):
        self.n_outside = int(n_outside)
        self.first = tuple(float(v) for v in first)
        (x0, x1), (y0, y1), (z0, z1) = bounds
        super().__init__(
            f"{self.n_outside} point(s) outside the field map, first at "
            f"(x, y, z) = ({self.first[0]:.6g}, {self.first[1]:.6g}, {self.first[2]:.6g}) m; "
            f"the map covers x in [{x0:.6g}, {x1:.6g}], y in [{y0:.6g}, {y1:.6g}], "
            f"z in [{z0:.6g}, {z1:.6g}] m and is never extrapolated"
        )
