"""Bad MAD-X input raises MadxError naming the input; the Python process survives."""

import pytest

from beamkit import MadxError, lattices, madx


def test_typo_raises_and_quotes_input(mad):
    with pytest.raises(MadxError, match="quadrupol") as info:
        mad.input("qf: quadrupol, l = 1;")
    assert "unknown class type" in str(info.value)
    assert info.value.input == "qf: quadrupol, l = 1;"
    # The MAD-X process died; the session says so instead of hanging or crashing.
    with pytest.raises(MadxError, match="start a new session"):
        mad.input("x = 1;")


def test_kernel_survives_and_new_session_works():
    with madx.session() as first:
        with pytest.raises(MadxError):
            first.input('call, file = "this/file/does/not/exist.madx";')
    with madx.session() as second:
        second.load(lattices.lhc_fodo_cell())
        assert "enter Twiss module" in second.input("twiss;")


def test_unknown_sequence_warning_raises(mad):
    with pytest.raises(MadxError, match="unknown sequence"):
        mad.input("use, sequence = nothere;")


def test_warnings_can_be_allowed():
    with madx.session(allow_warnings=True) as mad:
        mad.input("use, sequence = nothere;")
        assert any("unknown sequence" in w for w in mad.warnings)


def test_twiss_of_unstable_lattice_raises(mad):
    cell = lattices.fodo_cell(10.0, 2.0, quad_length_m=0.5)
    mad.load(cell)
    with pytest.raises(MadxError, match="TWISS failed"):
        mad.input("twiss;")


def test_log_is_kept(mad):
    mad.input("value, 1 + 2;")
    assert "3" in mad.log
