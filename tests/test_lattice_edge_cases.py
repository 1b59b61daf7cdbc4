"""Edge cases of a Lattice: what is accepted means the same in MAD-X, xtrack and the matrices.

Issue 16: a thick quadrupole of length 0, a thin quadrupole given a length, a zero-length
bend, a NaN strength or a misspelt knob used to be read differently by the three engines
without a word; they are now refused when the Lattice is built (``tests/bad_input``). Here
the edge cases that every engine accepts -- thin quadrupoles at the very ends of the cell,
magnets touching, a marker with a length, a quadrupole and a bend of strength 0, a
sextupole on the dispersive orbit, math functions in an expression, an unused knob -- are
put in one cell and the three engines must agree on its optics.
"""

import math

import numpy as np
import pytest

from beamkit import lattices, madx, optics
from beamkit.errors import InputError
from beamkit.lattices import Lattice, Magnet

L_M = 20.0


def edge_cell():
    """A 20 m FODO-like cell holding every accepted edge case at once."""
    variables = {"k1l_f": 0.1, "k1l_d": -0.1, "kzero": 0.0, "theta": 0.02, "theta0": 0.0,
                 "k2s": 0.5, "spare": 3.0}
    mags = (
        Magnet("qf_start", "thin_quadrupole", 0.0, 0.0, {"k1l": "k1l_f / 2"}),        # at s = 0
        Magnet("m_thin", "marker", 2.0),
        Magnet("q_zero", "quadrupole", 3.0, 0.4, {"k1": "kzero"}),                     # k1 = 0
        Magnet("mb", "sbend", 6.5, 2.0, {"angle": "theta"}),
        Magnet("qd", "quadrupole", 10.0, 1.0, {"k1": "k1l_d * cos(0.0) / sqrt(1.0)"}),  # math functions
        Magnet("sx", "sextupole", 10.75, 0.5, {"k2": "k2s"}),                          # touches qd
        Magnet("mb_off", "sbend", 13.5, 2.0, {"angle": "theta0"}),                     # angle 0
        Magnet("m_long", "marker", 16.5, 0.6),                                         # a marker with length
        Magnet("qf_end", "thin_quadrupole", L_M, 0.0, {"k1l": "k1l_f / 2"}),           # at s = L
    )
    return Lattice("edges", L_M, mags, variables, "proton", 7e12, "edge cases of issue 16")


@pytest.fixture(scope="module")
def three():
    cell = edge_cell()
    with madx.session() as mad:
        mad.load(cell)
        from_madx = optics.twiss_madx(mad)
    return {"MAD-X": from_madx, "xtrack": optics.twiss_xtrack(cell.to_xtrack()),
            "matrices": optics.twiss_matrices(cell)}


def test_engines_agree_on_the_edge_cell(three):
    """MAD-X, xtrack and the thick matrices build the cell independently; measured differences:
    xtrack - MAD-X 1.2e-12 in tune and 2.4e-10 m in beta (xtrack's one-turn matrix comes from
    finite differences), matrices - MAD-X 1.4e-15 in tune and 1.6e-13 m in beta (rounding)."""
    ref = three["MAD-X"]
    # (tune, relative beta, dispersion in m, alpha_c) tolerances: ten times what was measured,
    # at the precision of each engine (finite-difference one-turn matrix / double rounding).
    tolerances = {"xtrack": (1e-11, 1e-10, 1e-10, 3e-10), "matrices": (1e-13, 1e-12, 1e-12, 1e-13)}
    for label, (tol_q, tol_beta, tol_d, tol_ac) in tolerances.items():
        o = three[label]
        assert abs(o.q_x - ref.q_x) < tol_q, label
        assert abs(o.q_y - ref.q_y) < tol_q, label
        for col in ("beta_x_m", "beta_y_m"):
            assert math.isclose(o.table[col].iloc[0], ref.table[col].iloc[0], rel_tol=tol_beta), (label, col)
        assert abs(o.table["dispersion_x_m"].iloc[0] - ref.table["dispersion_x_m"].iloc[0]) < tol_d, label
        assert abs(o.alpha_c - ref.alpha_c) < tol_ac, label


def test_edge_cell_is_not_trivial(three):
    """The agreement above means something: the cell is stable, bent and focusing."""
    ref = three["MAD-X"]
    assert 0.05 < ref.q_x < 0.5 and 0.05 < ref.q_y < 0.5
    assert ref.table["dispersion_x_m"].abs().max() > 0.01  # the 0.02 rad bend makes dispersion


def test_do_nothing_elements_are_drifts():
    """A quadrupole and a bend of strength 0, markers and a sextupole on the reference orbit are
    drifts in the linear optics: removing them changes no matrix element (exact in the matrices)."""
    cell = edge_cell()
    keep = tuple(m for m in cell.magnets if m.name in ("qf_start", "mb", "qd", "qf_end"))
    bare = Lattice("bare", L_M, keep, cell.variables)
    for plane in ("x", "y"):
        # Products of different drift splittings: equal to rounding (1e-15 per matrix element).
        assert np.allclose(cell.one_turn_matrix(plane), bare.one_turn_matrix(plane), rtol=0, atol=1e-13)


@pytest.mark.parametrize("change, words", [
    (dict(kind="quadrupole", length_m=0.0, strengths={"k1": 0.1}), ["length_m", "positive"]),
    (dict(kind="thin_quadrupole", length_m=0.5, strengths={"k1l": 0.1}), ["length_m", "must be 0"]),
    (dict(kind="sbend", length_m=0.0, strengths={"angle": "theta"}), ["length_m", "positive"]),
    (dict(kind="quadrupole", length_m=1.0, strengths={"k1": "k1l_dd"}), ["k1l_dd", "undefined"]),
    (dict(kind="quadrupole", length_m=1.0, strengths={"k1": math.nan}), ["nan"]),
])
def test_what_engines_read_differently_is_refused(change, words):
    """Each of these was read differently by MAD-X, xtrack and the matrices; now none is built."""
    cell = edge_cell()
    mags = tuple(Magnet("qd", change["kind"], 10.0, change["length_m"], change["strengths"])
                 if m.name == "qd" else m for m in cell.magnets)
    with pytest.raises(InputError) as info:
        Lattice("edges", L_M, mags, cell.variables)
    assert all(w in str(info.value) for w in words), info.value


def test_refused_before_any_engine_for_builders():
    """The book's builders go through the same checks (a NaN bend angle would be 0 in MAD-X)."""
    with pytest.raises(InputError, match="theta"):
        lattices.lhc_fodo_cell(bend_angle_rad=math.nan)
