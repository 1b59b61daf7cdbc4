"""Exceptions and warnings raised by beamkit.

Every error that beamkit raises on bad input is one of these, so that a caller can
catch a named problem rather than a bare ``Exception``. Bad arguments are checked at the
boundary of each public function by the shared helpers in :mod:`beamkit._validate`, which
raise :class:`InputError` with the argument's name, the value given and what to do.

Hierarchy::

    BeamkitError
    +-- InputError (also ValueError)            a bad argument: name, value, fix
    |   +-- IllConditionedError                 data that cannot determine the answer
    +-- UnstableLatticeError (also ValueError)  no periodic solution
    +-- ConvergenceError (also RuntimeError)    an iteration did not reach its tolerance
    +-- MadxError (also RuntimeError)           MAD-X reported an error or stopped
    |   +-- MadxTimeoutError                    an input ran past its time limit
    +-- FieldMapError (also ValueError)         a malformed field map or request
        +-- OutsideFieldMapError

    BeamkitWarning (UserWarning)                a result that is computed but doubtful
"""

__all__ = [
    "BeamkitError",
    "BeamkitWarning",
    "ConvergenceError",
    "FieldMapError",
    "IllConditionedError",
    "InputError",
    "MadxError",
    "MadxTimeoutError",
    "OutsideFieldMapError",
    "UnstableLatticeError",
]


class BeamkitError(Exception):
    """Base class of all beamkit errors."""


class BeamkitWarning(UserWarning):
    """A result was computed but is doubtful (implausible units, poor conditioning, ...)."""


def _show(value, limit=80):
    """A short, readable rendering of a value for an error message."""
    try:
        import numpy as np

        if isinstance(value, np.ndarray):
            with np.printoptions(threshold=6, edgeitems=2, precision=6):
                text = f"array of shape {value.shape}: {value}"
        else:
            text = repr(value)
    except Exception:  # noqa: BLE001 - a message must never fail to build
        text = object.__repr__(value)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


class InputError(BeamkitError, ValueError):
    """A public function was given an argument it cannot use.

    The message names the argument, shows the value and says what to do instead.

    Attributes
    ----------
    argument : str
        The argument's name as the caller wrote it (``"beta_x_m"``, ``"particles['x']"``).
    value : object
        The value that was given.
    problem : str
        What is wrong with it.
    fix : str
        What to do instead.
    """

    def __init__(self, argument, value, problem, fix=""):
        self.argument = argument
        self.value = value
        self.problem = problem
        self.fix = fix
        text = f"{argument} = {_show(value)}: {problem}"
        if fix:
            text += f"; {fix}"
        super().__init__(text)


class IllConditionedError(InputError):
    """The data given cannot determine the answer (a singular or nearly singular system).

    Attributes
    ----------
    condition_number : float
        The condition number found (ratio of the largest to the smallest singular value).
    """

    def __init__(self, argument, value, problem, fix="", condition_number=float("inf")):
        self.condition_number = float(condition_number)
        super().__init__(argument, value, problem, fix)


class ConvergenceError(BeamkitError, RuntimeError):
    """An iterative method (a match, a closed-orbit search, a shooting) did not converge.

    Attributes
    ----------
    what : str
        What was being solved for.
    residual : float or None
        The last residual, when known.
    """

    def __init__(self, what, residual=None, fix=""):
        self.what = what
        self.residual = residual
        text = f"{what} did not converge"
        if residual is not None:
            text += f" (last residual {residual:.3g})"
        if fix:
            text += f"; {fix}"
        super().__init__(text)


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


class MadxTimeoutError(MadxError):
    """A MAD-X input ran longer than its time limit (or was interrupted); the child was killed.

    The session is dead afterwards: open a new one.
    """


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
