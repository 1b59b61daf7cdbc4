"""Issue 16: no public function of lattices, matrices, optics, longitudinal or chromaticity
changes the caller's lattice, line, session variables or arrays, unless its name says so
(``match_chromaticity`` sets knobs, and puts them back when it fails)."""

import copy

import numpy as np
import pytest

from beamkit import chromaticity as ch
from beamkit import lattices, madx, optics
from beamkit import longitudinal as lg
from beamkit import matrices as mx
from beamkit.errors import BeamkitError, ConvergenceError


def same(a, b):
    """Deep equality of nested dicts, lists and arrays (NaN equal to NaN)."""
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return np.array_equal(np.asarray(a), np.asarray(b), equal_nan=a.dtype.kind == "f")
    if isinstance(a, float) and isinstance(b, float) and np.isnan(a) and np.isnan(b):
        return True
    return a == b


def lattice_state(lattice):
    return (repr(lattice), copy.deepcopy(lattice.variables),
            [copy.deepcopy(m.strengths) for m in lattice.magnets])


def line_state(line):
    knobs = line.vars.get_table()
    return line.to_dict(), dict(zip(knobs.name, knobs.value))


@pytest.fixture(scope="module")
def line():
    return lattices.lhc_fodo_cell(sextupoles=True, k2sext1=0.05, k2sext2=-0.1).to_xtrack()


# ------------------------------------------------------------------------------ lattices
def test_lattice_copies_what_it_is_given():
    variables = {"kq": 0.1}
    strengths = {"k1": "kq"}
    mag = lattices.Magnet("q", "quadrupole", 5.0, 1.0, strengths)
    cell = lattices.Lattice("c", 10.0, [mag], variables)
    variables["kq"] = 99.0
    strengths["k1"] = 99.0
    assert cell.variables == {"kq": 0.1} and cell.magnets[0].strengths == {"k1": "kq"}
    assert isinstance(cell.magnets, tuple)


@pytest.mark.parametrize("call", [
    lambda c: c.transfer_matrices("y", thin=True, delta=1e-3, max_step_m=1.0),
    lambda c: c.one_turn_matrix("x", delta=-1e-3),
    lambda c: c.madx_input(),
    lambda c: c.to_xtrack(),
    lambda c: c.with_variables(theta=0.0),
    lambda c: c.value("k1l_f * 2"),
    lambda c: optics.twiss_matrices(c, thin=True),
    lambda c: lg.momentum_compaction_from_matrices(c),
], ids=["transfer_matrices", "one_turn_matrix", "madx_input", "to_xtrack", "with_variables", "value",
        "twiss_matrices", "momentum_compaction"])
def test_lattice_methods_leave_the_lattice(call):
    cell = lattices.lhc_fodo_cell(sextupoles=True, k2sext1=0.1)
    before = lattice_state(cell)
    call(cell)
    assert lattice_state(cell) == before


# ------------------------------------------------------------------------------ arrays
@pytest.mark.parametrize("call, arrays", [
    (lambda a: mx.line_matrix(a), [mx.drift(1.0), mx.quadrupole(0.1, 1.0)]),
    (lambda a: mx.propagate_twiss(a, mx.periodic_twiss(mx.drift(1.0) @ mx.quadrupole(0.5, 1.0))),
     [mx.drift(1.0), mx.quadrupole(0.5, 1.0)]),
    (lambda a: mx.periodic_twiss(a[0]), [mx.drift(1.0) @ mx.quadrupole(0.5, 1.0)]),
    (lambda a: mx.is_symplectic(a[0]), [mx.quadrupole(0.5, 1.0)]),
    (lambda a: ch.fit_chromaticity(*a), [np.linspace(-1e-3, 1e-3, 5), 0.3 + 2 * np.linspace(-1e-3, 1e-3, 5)]),
    (lambda a: ch.sextupole_thin_lens_response(*a), [np.array([100.0, 30.0]), np.array([30.0, 100.0]),
                                                     np.array([2.0, 1.0]), np.array([1.0, 1.0])]),
    (lambda a: ch.fodo_thin_lens_chromaticity(a[0]), [np.array([0.1, 0.25])]),
    (lambda a: lg.slip_factor(3e-4, a[0]), [np.array([10.0, 100.0])]),
], ids=["line_matrix", "propagate_twiss", "periodic_twiss", "is_symplectic", "fit_chromaticity",
        "sextupole_response", "thin_lens_chromaticity", "slip_factor"])
def test_arrays_are_not_changed(call, arrays):
    before = [a.copy() for a in arrays]
    out = call(arrays)
    assert same(arrays, before)
    # Nor do the results share memory with the caller's arrays.
    results = [out] if isinstance(out, np.ndarray) else [
        getattr(out, k) for k in vars(out) if isinstance(getattr(out, k), np.ndarray)] if hasattr(
        out, "__dict__") else []
    for r in results:
        assert not any(np.shares_memory(r, a) for a in arrays)


# ------------------------------------------------------------------------------ xtrack lines
@pytest.mark.parametrize("call", [
    lambda ln: optics.twiss_xtrack(ln, max_step_m=5.0),
    lambda ln: ch.sextupole_optics(ln, ["sext1", "sext2"]),
    lambda ln: ch.chromaticity_response(ln, ["k2sext1", "k2sext2"]),
], ids=["twiss_xtrack", "sextupole_optics", "chromaticity_response"])
def test_line_is_not_changed(line, call):
    before = line_state(line)
    call(line)
    assert same(line_state(line), before)


def test_chromaticity_from_tracking_changes_neither_line_nor_deltas(line):
    deltas = np.array([-5e-4, 0.0, 5e-4])
    before_line, before_deltas = line_state(line), deltas.copy()
    fit = ch.chromaticity_from_tracking(line, deltas, n_turns=64)
    assert same(line_state(line), before_line) and np.array_equal(deltas, before_deltas)
    assert not np.shares_memory(fit.deltas, deltas)


def test_failed_xtrack_match_puts_the_knobs_back(line):
    """A tolerance no finite-difference chromaticity can reach (1e-15; xtrack's Q' is good to
    ~1e-9) makes the match fail after it has moved the knobs: they must come back, not NaN."""
    before = line_state(line)
    with pytest.raises(ConvergenceError, match="put back"):
        ch.match_chromaticity(line, dq_x=1.0, dq_y=1.0, tolerance=1e-15)
    assert same(line_state(line), before)


# ------------------------------------------------------------------------------ MAD-X
def test_madx_twiss_and_failed_matches_leave_the_variables():
    cell = lattices.lhc_fodo_cell(sextupoles=True)  # sextupoles at 0: theta barely acts on Q'x
    with madx.session() as mad:
        mad.load(cell)
        before = dict(mad.madx.globals)
        optics.twiss_madx(mad, max_step_m=5.0)
        assert same(dict(mad.madx.globals), before)
        # Unreachable with one knob: theta cannot make Q'x = 5 (ConvergenceError after moving it),
        # and k1l_f is driven into an unstable cell (MAD-X's TWISS fails inside the match).
        for knobs in (("theta",), ("k1l_f",)):
            with pytest.raises(BeamkitError) as info:
                ch.match_chromaticity(mad, dq_x=5.0, knobs=knobs)
            assert isinstance(info.value, ConvergenceError if knobs == ("theta",) else BeamkitError)
            # MAD-X's `match` leaves its penalty in the global `tar`; every other variable is back.
            after = {k: val for k, val in mad.madx.globals.items() if k != "tar"}
            assert same(after, before), knobs
        # The session still works and gives the optics of the unchanged cell.
        o = optics.twiss_madx(mad)
        assert abs(o.q_x - optics.twiss_matrices(cell).q_x) < 1e-9  # thick matrices vs MAD-X: ~1e-13


# ------------------------------------------------------------------------------ deferred knobs
# A knob defined by an expression must keep it when a failed match (or the response's
# finite differences) put it back: a value alone would stop following the variable it
# depends on. The independent check is the expression itself: after the restore, changing
# the variable it depends on moves the knob to exactly 2 * a (closed form, no tolerance:
# one multiplication by 2 is exact in binary floating point).

def test_failed_xtrack_match_keeps_a_knobs_expression():
    line = lattices.lhc_fodo_cell(sextupoles=True).to_xtrack()
    line.vars["a_k2"] = 0.025
    line.vars["k2sext1"] = line.vars["a_k2"] * 2
    expr_before = str(line.vars["k2sext1"]._expr)
    ch.chromaticity_response(line, ["k2sext1", "k2sext2"])
    assert str(line.vars["k2sext1"]._expr) == expr_before
    # Tolerance 1e-15: xtrack's fitted Q' is good to ~1e-9, so the match fails after moving the knobs.
    with pytest.raises(ConvergenceError, match="put back"):
        ch.match_chromaticity(line, dq_x=1.0, dq_y=1.0, tolerance=1e-15)
    assert str(line.vars["k2sext1"]._expr) == expr_before
    assert line.vars["k2sext1"]._value == 0.05
    line.vars["a_k2"] = 0.0375
    assert line.vars["k2sext1"]._value == 0.075


def test_failed_madx_match_keeps_a_knobs_expression():
    with madx.session() as mad:
        mad.load(lattices.lhc_fodo_cell(sextupoles=True))
        mad.input("a_k2 = 0.025;\nk2sext1 := 2 * a_k2;")
        expr_before = mad.madx.globals.cmdpar["k2sext1"].expr
        assert expr_before is not None
        # Theta barely acts on the chromaticity and sext1 raises Q'_x while it lowers Q'_y:
        # Q'_x = Q'_y = 5 is out of reach, and MAD-X's match moves both knobs before giving up.
        with pytest.raises(ConvergenceError, match="put back"):
            ch.match_chromaticity(mad, dq_x=5.0, dq_y=5.0, knobs=("theta", "k2sext1"))
        assert mad.madx.globals.cmdpar["k2sext1"].expr == expr_before
        assert mad.madx.globals["k2sext1"] == 0.05
        mad.input("a_k2 = 0.0375;")
        assert mad.madx.globals["k2sext1"] == 0.075
