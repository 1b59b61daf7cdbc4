"""Bad-input rows for beamkit.lattices and beamkit.matrices."""

import numpy as np

from beamkit import lattices
from beamkit import matrices as mx
from beamkit.errors import InputError
from beamkit.lattices import Lattice, Magnet


def _quad_cell(k1, variables, length_m=10.0):
    """A cell of ``length_m`` with one 1 m quadrupole whose k1 is ``k1`` (number or expression)."""
    return Lattice("c", length_m, (Magnet("q", "quadrupole", 5.0, 1.0, {"k1": k1}),), variables)

CASES = [
    ("fodo-negative-length", lambda: lattices.fodo_cell(-1.0, 5.0), InputError, ["length_m", "positive"]),
    ("fodo-quads-too-long", lambda: lattices.fodo_cell(10.0, 5.0, quad_length_m=6.0), InputError,
     ["quad_length_m", "do not fit"]),
    ("fodo-energy-below-mass", lambda: lattices.fodo_cell(10.0, 5.0, energy_ev=1e6), InputError,
     ["energy_ev", "rest energy"]),
    ("fodo-particle", lambda: lattices.fodo_cell(10.0, 5.0, particle="muon"), InputError,
     ["particle", "muon", "known"]),
    ("lattice-unknown-kind",
     lambda: lattices.Lattice("c", 10.0, (lattices.Magnet("m", "octupole", 5.0),), {}),
     InputError, ["kind", "octupole", "quadrupole"]),
    ("expression-unknown-variable", lambda: lattices.fodo_cell(10.0, 5.0).value("k_nope * 2"), InputError,
     ["expression", "k_nope"]),
    ("matrix-plane", lambda: mx.quadrupole(0.1, 1.0, plane="z"), InputError, ["plane", "'z'"]),
    ("matrix-dim", lambda: mx.drift(1.0, dim=4), InputError, ["dim", "4"]),
    ("bend-length", lambda: mx.sector_bend(0.1, 0.0), InputError, ["length_m", "positive"]),
    ("periodic-shape", lambda: mx.periodic_twiss(np.eye(4)), InputError, ["matrix", "2x2 or 3x3"]),
    ("periodic-nan", lambda: mx.periodic_twiss(np.full((2, 2), np.nan)), InputError, ["matrix", "nan"]),
    ("line-empty", lambda: mx.line_matrix([]), InputError, ["matrices", "at least one"]),
    # Issue 16: lattice variables and expressions are checked before they reach an engine
    # (MAD-X reads NaN, a misspelt knob or an undefined name as 0; xtrack raises KeyError).
    ("cell-length-negative", lambda: Lattice("c", -10.0, (), {}), InputError, ["length_m", "> 0"]),
    ("cell-length-nan", lambda: Lattice("c", np.nan, (), {}), InputError, ["length_m", "nan"]),
    ("cell-length-zero", lambda: Lattice("c", 0.0, (), {}), InputError, ["length_m", "> 0"]),
    ("energy-inf", lambda: Lattice("c", 10.0, (), {}, energy_ev=np.inf), InputError, ["energy_ev", "finite"]),
    ("variable-nan", lambda: _quad_cell("kq", {"kq": np.nan}), InputError, ["variables['kq']", "nan"]),
    ("variable-string", lambda: _quad_cell("kq", {"kq": "0.1"}), InputError, ["variables['kq']", "str"]),
    ("variable-reserved-name", lambda: _quad_cell(0.1, {"pi": 3.0}), InputError, ["pi", "mad-x constant"]),
    ("theta-nan", lambda: lattices.lhc_fodo_cell().with_variables(theta=np.nan), InputError,
     ["theta", "nan"]),
    ("with-variables-unknown", lambda: lattices.lhc_fodo_cell().with_variables(thetta=0.0), InputError,
     ["unknown lattice variables", "thetta", "theta"]),
    ("knob-misspelt", lambda: _quad_cell("k1l_ff / 1.0", {"k1l_f": 0.1}), InputError,
     ["q.strengths['k1']", "k1l_ff", "undefined"]),
    ("name-undefined", lambda: _quad_cell("kq * scale", {"kq": 0.1}), InputError,
     ["q.strengths['k1']", "scale", "undefined"]),
    ("expression-syntax", lambda: _quad_cell("kq *", {"kq": 0.1}), InputError,
     ["q.strengths['k1']", "not a valid expression"]),
    ("expression-divide-by-zero", lambda: _quad_cell("kq / 0", {"kq": 0.1}), InputError,
     ["q.strengths['k1']", "zerodivisionerror"]),
    ("expression-domain", lambda: _quad_cell("sqrt(kq)", {"kq": -0.1}), InputError,
     ["q.strengths['k1']", "math domain"]),
    ("expression-builtin", lambda: _quad_cell("abs(kq)", {"kq": -0.1}), InputError,
     ["q.strengths['k1']", "abs()", "do not share"]),
    # MAD-X writes powers as ^ (Python's exclusive or) and stops at **; xtrack has no pi.
    ("expression-power", lambda: _quad_cell("kq ** 2", {"kq": 0.1}), InputError,
     ["q.strengths['k1']", "**", "mad-x"]),
    ("expression-pi", lambda: _quad_cell("kq * pi / 3.0", {"kq": 0.1}), InputError,
     ["q.strengths['k1']", "pi", "xtrack"]),
    ("expression-conditional", lambda: _quad_cell("kq if kq > 0 else 0.0", {"kq": 0.1}), InputError,
     ["q.strengths['k1']", "ifexp"]),
    ("value-nan", lambda: lattices.lhc_fodo_cell().value(np.nan), InputError, ["expression", "nan"]),
    ("value-not-expression", lambda: lattices.lhc_fodo_cell().value(None), InputError,
     ["expression", "none"]),
    ("magnets-not-magnets", lambda: Lattice("c", 10.0, ("q",), {}), InputError, ["magnets", "not a magnet"]),
    ("magnet-before-start", lambda: Lattice("c", 10.0, (Magnet("q", "marker", -1.0),), {}), InputError,
     ["q.at_m", "inside the element before"]),
    ("fodo-length-nan", lambda: lattices.fodo_cell(np.nan, 5.0), InputError, ["length_m", "nan"]),
    ("fodo-focal-nan", lambda: lattices.fodo_cell(10.0, np.nan), InputError, ["focal_length_m", "nan"]),
    ("fodo-quad-length-nan", lambda: lattices.fodo_cell(10.0, 5.0, quad_length_m=np.nan), InputError,
     ["quad_length_m", "nan"]),
    ("fodo-bend-angle-nan", lambda: lattices.fodo_cell(10.0, 5.0, bend_angle_rad=np.nan), InputError,
     ["bend_angle_rad", "nan"]),
    ("lhc-bend-angle-nan", lambda: lattices.lhc_fodo_cell(bend_angle_rad=np.nan), InputError,
     ["theta", "nan"]),
    ("lhc-sextupole-nan", lambda: lattices.lhc_fodo_cell(sextupoles=True, k2sext1=np.nan), InputError,
     ["k2sext1", "nan"]),
    ("xtrack-edge-model", lambda: lattices.lhc_fodo_cell().to_xtrack(bend_edge_model="ful"), InputError,
     ["bend_edge_model", "'ful'", "'full'"]),
    ("one-turn-delta-minus-one", lambda: lattices.lhc_fodo_cell().one_turn_matrix(delta=-1.0), InputError,
     ["delta", "> -1"]),
    ("one-turn-delta-nan", lambda: lattices.lhc_fodo_cell().one_turn_matrix("y", delta=np.nan), InputError,
     ["delta", "nan"]),
    ("one-turn-plane", lambda: lattices.lhc_fodo_cell().one_turn_matrix("z"), InputError, ["plane", "'z'"]),
    ("slices-step-zero", lambda: lattices.lhc_fodo_cell().transfer_matrices(max_step_m=0.0), InputError,
     ["max_step_m", "> 0"]),
    ("slices-step-nan", lambda: lattices.lhc_fodo_cell().transfer_matrices(max_step_m=np.nan), InputError,
     ["max_step_m", "nan"]),
    ("slices-thin-string", lambda: lattices.lhc_fodo_cell().transfer_matrices(thin="no"), InputError,
     ["thin", "true or false"]),
]
