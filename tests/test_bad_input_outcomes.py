"""tools/bad_input_outcomes.py: the classes it gives a catalogue row (issue 16's counts)."""

import sys
import time
import warnings
from pathlib import Path

import pytest

from beamkit.errors import BeamkitWarning, ConvergenceError, InputError

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import bad_input_outcomes as tool  # noqa: E402


def _raise(exc):
    def call():
        raise exc
    return call


def _warn_and_return():
    warnings.warn("doubtful", BeamkitWarning)
    return 0.0


@pytest.mark.parametrize("call, error, words, outcome", [
    (_raise(InputError("x", 1.0, "must be > 2")), InputError, ["x", "> 2"], "named"),
    (_raise(InputError("x", 1.0, "must be > 2")), InputError, ["x", "finite"], "named-vague"),
    (_raise(InputError("x", 1.0, "must be > 2")), ConvergenceError, ["x"], "named-vague"),
    (_raise(ZeroDivisionError("division by zero")), InputError, ["x"], "generic"),
    (_warn_and_return, InputError, ["x"], "silent"),
    (lambda: time.sleep(5), InputError, ["x"], "hang"),
], ids=["named", "missing-word", "other-class", "generic", "silent-with-warning", "hang"])
def test_classify(call, error, words, outcome):
    assert tool.classify(call, error, words, limit_s=1)[0] == outcome


def test_every_catalogue_module_is_found():
    found = sorted(p.stem for p in tool.CATALOGUE.glob("[!_]*.py"))
    assert "validate" in found and "optics" in found and len(found) >= 15
