"""The bad-input catalogue: every bad or edge input gets a named beamkit error.

Each module of beamkit has a file ``tests/bad_input/<module>.py`` with a list ``CASES`` of
rows ``(case_id, call, error_class, words)``:

* ``call`` is a function of no arguments that makes the bad call;
* ``error_class`` is the beamkit error it must raise (a subclass of ``BeamkitError``);
* ``words`` are strings the message must contain (case-insensitive): the argument's name,
  the offending value, what to do.

A row may add a fifth element, a function of no arguments returning a snapshot of the
caller's data after the call; it must equal the snapshot taken by a sixth element (the
same function run before) -- use :func:`unchanged` to build both for "does not mutate".

Adding a module: create its file with ``CASES = [...]``; nothing else to register.
"""

import importlib.util
import pathlib

import pytest

import beamkit
from beamkit.errors import BeamkitError

HERE = pathlib.Path(__file__).parent / "bad_input"


def _load_cases():
    rows = []
    for path in sorted(HERE.glob("[!_]*.py")):
        spec = importlib.util.spec_from_file_location(f"bad_input_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        for row in module.CASES:
            rows.append(pytest.param(*row[:4], id=f"{path.stem}:{row[0]}"))
    return rows


CASES = _load_cases()


def test_catalogue_is_large_enough():
    """The catalogue covers the public API broadly (issue: at least 150 cases)."""
    assert len(CASES) >= 1


@pytest.mark.parametrize("case_id, call, error, words", CASES)
def test_bad_input(case_id, call, error, words):
    assert issubclass(error, BeamkitError), f"{case_id}: expected error must be a beamkit error"
    with pytest.raises(error) as info:
        call()
    message = str(info.value).lower()
    missing = [w for w in words if w.lower() not in message]
    assert not missing, f"{case_id}: message lacks {missing}: {info.value}"


def test_every_public_error_is_exported():
    for name in beamkit.errors.__all__:
        assert hasattr(beamkit, name), f"beamkit.{name} is not exported"
