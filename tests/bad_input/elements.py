"""Bad-input rows for beamkit.elements: what each element kind accepts in a Lattice.

Every row here is an element that one engine (MAD-X, xtrack or the matrices) would have
read differently from the others, silently; the Lattice refuses it before any engine sees it.
"""

from beamkit.errors import InputError
from beamkit.lattices import Lattice, Magnet


def _one(kind, length_m, strengths, variables=None):
    """A 10 m cell holding one element of ``kind`` at its centre."""
    return Lattice("c", 10.0, (Magnet("m", kind, 5.0, length_m, strengths),), variables or {})


CASES = [
    # MAD-X and xtrack drop a quadrupole of length 0 (k1 * 0); the matrices give the identity.
    ("quadrupole-length-zero", lambda: _one("quadrupole", 0.0, {"k1": 0.1}), InputError,
     ["m.length_m", "positive", "thin_quadrupole"]),
    # MAD-X and xtrack keep the drift around a thin quadrupole with a length; the matrices lost it.
    ("thin-quadrupole-with-length", lambda: _one("thin_quadrupole", 1.0, {"k1l": 0.1}), InputError,
     ["m.length_m", "thin", "must be 0"]),
    # ZeroDivisionError (angle / length) in the matrices, no bend in xtrack.
    ("sbend-length-zero", lambda: _one("sbend", 0.0, {"angle": 0.01}), InputError,
     ["m.length_m", "positive", "sector bend"]),
    ("sextupole-length-zero", lambda: _one("sextupole", 0.0, {"k2": 0.1}), InputError,
     ["m.length_m", "positive", "per metre"]),
    ("quadrupole-k1-nan", lambda: _one("quadrupole", 1.0, {"k1": float("nan")}), InputError,
     ["m.strengths['k1']", "nan"]),
    ("sbend-angle-inf", lambda: _one("sbend", 1.0, {"angle": float("inf")}), InputError,
     ["m.strengths['angle']", "finite"]),
    ("quadrupole-strength-key-misspelt", lambda: _one("quadrupole", 1.0, {"k": 0.1}), InputError,
     ["'k'", "not a strength of a quadrupole", "k1"]),
    ("thin-quadrupole-given-k1", lambda: _one("thin_quadrupole", 0.0, {"k1": 0.1}), InputError,
     ["'k1'", "thin_quadrupole", "k1l"]),
    ("marker-given-strength", lambda: _one("marker", 0.0, {"k1": 0.1}), InputError,
     ["'k1'", "marker", "no strength"]),
    ("strength-bool", lambda: _one("quadrupole", 1.0, {"k1": True}), InputError,
     ["m.strengths['k1']", "number or an expression"]),
    ("length-negative", lambda: Magnet("q", "quadrupole", 5.0, -1.0, {"k1": 0.1}), InputError,
     ["q.length_m", ">= 0"]),
    ("length-nan", lambda: Magnet("q", "quadrupole", 5.0, float("nan"), {"k1": 0.1}), InputError,
     ["q.length_m", "nan"]),
    ("position-nan", lambda: Magnet("q", "marker", float("nan")), InputError, ["q.at_m", "nan"]),
    ("strengths-not-dict", lambda: Magnet("q", "quadrupole", 5.0, 1.0, [("k1", 0.1)]), InputError,
     ["q.strengths", "dict"]),
]
