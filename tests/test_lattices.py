"""Lattice descriptions: validation and the three emitted forms."""

import math

import pytest

from beamkit import lattices
from beamkit.errors import InputError


def test_lhc_cell_geometry():
    cell = lattices.lhc_fodo_cell(sextupoles=True)
    assert cell.length_m == 110.0
    bends = [m for m in cell.magnets if m.kind == "sbend"]
    assert len(bends) == 6 and all(b.length_m == 14.3 for b in bends)
    # Six bends of 2 pi/1232 each: one cell of the 1232-dipole ring bends by 6 * 2 pi / 1232.
    total = sum(cell.strength(b, "angle") for b in bends)
    assert math.isclose(total, 6 * 2 * math.pi / 1232, rel_tol=1e-15)
    # Integrated gradient of a full QF (two halves) and of QD: +-0.008 * 3.3 m^-1.
    qf = sum(cell.strength(m, "k1") * m.length_m for m in cell.magnets if m.name.startswith("qf"))
    qd = [cell.strength(m, "k1") * m.length_m for m in cell.magnets if m.name == "qd"][0]
    assert math.isclose(qf, 0.0264, rel_tol=1e-14) and math.isclose(qd, -0.0264, rel_tol=1e-14)
    assert {"sext1", "sext2"} <= {m.name for m in cell.magnets}


def test_relativistic_factors():
    cell = lattices.lhc_fodo_cell()
    # 7 TeV protons: gamma = 7e12 / 938.272e6 = 7460.52, beta = 0.999999991 (lecture).
    assert math.isclose(cell.gamma0, 7e12 / 938.27208816e6, rel_tol=1e-15)
    assert math.isclose(cell.beta0, 0.999999991, rel_tol=1e-9)


def test_with_variables_and_unknown_variable():
    cell = lattices.lhc_fodo_cell()
    off = cell.with_variables(theta=0.0)
    assert off.variables["theta"] == 0 and cell.variables["theta"] != 0
    with pytest.raises(InputError, match="unknown lattice variables"):
        cell.with_variables(nope=1)


def test_xtrack_knob_switches_bends():
    line = lattices.lhc_fodo_cell().to_xtrack()
    line.vars["theta"] = 0.0
    tw = line.twiss(method="4d")
    assert abs(tw.dx).max() < 1e-12


@pytest.mark.parametrize("kwargs, message", [
    ({"length_m": -1.0, "focal_length_m": 5.0}, "positive"),
    ({"length_m": 10.0, "focal_length_m": 5.0, "quad_length_m": 6.0}, "do not fit"),
    ({"length_m": 10.0, "focal_length_m": 5.0, "energy_ev": 1e6}, "rest energy"),
    ({"length_m": 10.0, "focal_length_m": 5.0, "particle": "muon"}, "unknown particle"),
])
def test_fodo_cell_rejects_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        lattices.fodo_cell(**kwargs)


def test_overlapping_magnets_rejected():
    mags = (lattices.Magnet("a", "quadrupole", 1.0, 2.0, {"k1": 0.1}),
            lattices.Magnet("b", "quadrupole", 2.0, 2.0, {"k1": 0.1}))
    with pytest.raises(ValueError, match="inside the element before it"):
        lattices.Lattice("bad", 10.0, mags, {})


def test_madx_input_mentions_every_magnet():
    cell = lattices.fodo_cell(20.0, 8.0, bend_angle_rad=0.02)
    text = cell.madx_input()
    for mag in cell.magnets:
        assert f"{mag.name}:" in text
    assert "multipole" in text and "beam, particle = proton" in text


def test_every_element_kind_is_emitted_three_ways():
    # One dispatch (beamkit.elements.KINDS) serves MAD-X text, xtrack and matrices: a cell
    # holding every kind is built by each, and xtrack's tune equals the matrices' (two
    # independent constructions of the same linear map: rounding only).
    from dataclasses import replace

    from beamkit.elements import KINDS

    base = lattices.fodo_cell(20.0, 8.0, quad_length_m=0.5, bend_angle_rad=0.02)
    extra = (lattices.Magnet("kick", "thin_quadrupole", 2.6, 0.0, {"k1l": 0.001}),
             lattices.Magnet("sx", "sextupole", 7.6, 0.2, {"k2": 0.3}),
             lattices.Magnet("bpm", "marker", 9.0))
    cell = replace(base, magnets=base.magnets + extra)
    assert {m.kind for m in cell.magnets} == set(KINDS)
    text = cell.madx_input()
    for kind in KINDS.values():
        assert f": {kind.madx_class}," in text
    line = cell.to_xtrack()
    table = line.get_table()
    types = {name: table["element_type", name] for name in ("qd", "kick", "mb1", "sx", "bpm")}
    assert types == {"qd": "Quadrupole", "kick": "Multipole", "mb1": "Bend", "sx": "Sextupole",
                     "bpm": "Marker"}
    from beamkit import matrices

    tw = line.twiss(method="4d")
    for plane, q in (("x", tw.qx), ("y", tw.qy)):
        assert abs(matrices.periodic_twiss(cell.one_turn_matrix(plane)).q - q) < 1e-9
