"""beamkit.optics: one Optics result from MAD-X, xtrack and matrices, and compare.

The cross-checks of the three engines on the lecture's cell are in test_lhc_cell.py; here
the shape of the result and its vocabulary, checked against closed forms.
"""

import math

import pandas as pd
import pytest

from beamkit import lattices, optics
from beamkit.errors import InputError, UnstableLatticeError


@pytest.fixture(scope="module")
def thin_fodo():
    return lattices.fodo_cell(20.0, 8.0)


def test_result_is_frozen_with_vocabulary_names(thin_fodo):
    o = optics.twiss_matrices(thin_fodo)
    assert list(o.table.columns) == list(optics.COLUMNS)
    assert set(o.summary) == set(optics.SUMMARY_KEYS)
    for key in optics.SUMMARY_KEYS:
        assert o.summary[key] is getattr(o, key)
    with pytest.raises(AttributeError):
        o.q_x = 0.3
    frame = o.to_frame()
    frame.loc[0, "beta_x_m"] = -1.0
    assert o.table.loc[0, "beta_x_m"] > 0   # to_frame gives a copy


def test_thin_fodo_closed_form(thin_fodo):
    # Thin FODO, quads +-f L/2 apart: sin(mu/2) = L/(4 f) (Wille 2000, sec. 3.13). The phase
    # advance column is in radians and ends at mu; beta_max = L (1 + sin(mu/2))/sin(mu).
    L, f = 20.0, 8.0
    mu = 2 * math.asin(L / (4 * f))
    o = optics.twiss_matrices(thin_fodo)
    assert math.isclose(o.table["mu_x_rad"].iloc[-1], mu, rel_tol=1e-13)
    assert math.isclose(o.table["mu_y_rad"].iloc[-1], mu, rel_tol=1e-13)
    assert math.isclose(o.q_x, mu / (2 * math.pi), rel_tol=1e-13)
    assert math.isclose(o.beta_x_max_m, L * (1 + math.sin(mu / 2)) / math.sin(mu), rel_tol=1e-12)
    assert o.dispersion_x_max_m == 0.0 and o.alpha_c == 0.0 and math.isnan(o.gamma_tr)


def test_phase_advance_in_radians_in_every_engine(mad, lhc_cell):
    # MAD-X and xtrack report mu in units of 2 pi; beamkit converts to radians. At the end
    # of the cell the phase advance is 2 pi Q, Q from each engine's one-turn map.
    mad.load(lhc_cell)
    for o in (optics.twiss_madx(mad), optics.twiss_xtrack(lhc_cell.to_xtrack()),
              optics.twiss_matrices(lhc_cell)):
        assert abs(o.table["mu_x_rad"].iloc[-1] - 2 * math.pi * o.q_x) < 1e-9, o.source
        assert abs(o.table["mu_y_rad"].iloc[-1] - 2 * math.pi * o.q_y) < 1e-9, o.source


def test_dispersion_columns_are_periodic_and_symmetric():
    # A symmetric cell starting in the middle of QF: D' = 0 there (mirror symmetry) and D
    # repeats after one cell (periodic solution); only rounding of the matrix products.
    cell = lattices.fodo_cell(20.0, 8.0, bend_angle_rad=0.02)
    t = optics.twiss_matrices(cell).table
    assert abs(t["dispersion_prime_x"].iloc[0]) < 1e-14
    assert abs(t["dispersion_x_m"].iloc[-1] - t["dispersion_x_m"].iloc[0]) < 1e-13
    assert t["dispersion_x_m"].min() > 0


def test_compare_differences(thin_fodo):
    a = optics.twiss_matrices(thin_fodo)
    b = optics.twiss_matrices(thin_fodo, thin=True)
    frame = optics.compare({"a": a, "b": b})
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.index) == list(optics.SUMMARY_KEYS)
    assert frame.loc["q_x", "b - a"] == b.q_x - a.q_x
    with pytest.raises(InputError, match="reference"):
        optics.compare({"a": a}, reference="c")
    with pytest.raises(InputError, match="not Optics"):
        optics.compare({"a": a.summary})


def test_three_ways_gives_four_independent_results(lhc_cell_bends_off):
    results = optics.twiss_three_ways(lhc_cell_bends_off)
    assert list(results) == ["MAD-X", "xtrack", "thick matrices", "thin matrices"]
    frame = optics.compare(results)
    # Same thick model in three engines: tunes agree to rounding (test_lhc_cell); the thin
    # model differs by ~0.007 in tune (physics notes: thin vs thick, one slice).
    assert abs(frame.loc["q_x", "xtrack - MAD-X"]) < 1e-9
    assert 1e-3 < frame.loc["q_x", "thin matrices - MAD-X"] < 1e-2


def test_madx_twiss_failed_is_an_unstable_lattice_with_the_trace(mad):
    """MAD-X says only "TWISS failed" for a cell without a periodic solution; beamkit names it
    and reports the trace of MAD-X's one-turn matrix. Independent check: the thin-lens FODO
    closed form, trace = 2 - L^2 / (4 f^2) = -9.111 for L = 20 m, f = 3 m < L/4."""
    length_m, focal_m = 20.0, 3.0
    mad.load(lattices.fodo_cell(length_m, focal_m))
    with pytest.raises(UnstableLatticeError, match="TWISS failed") as info:
        optics.twiss_madx(mad)
    # A product of seven 4x4 matrices with entries ~10: rounding ~1e-14; 1e-12 leaves room.
    assert info.value.plane == "x"
    assert abs(info.value.trace - (2.0 - length_m**2 / (4.0 * focal_m**2))) < 1e-12
    # The diagnostic's table is gone and the session still works on a stable cell.
    assert "beamkit_one_turn" not in list(mad.madx.table)
    stable = lattices.fodo_cell(length_m, 8.0)
    mad.set_variables(k1l_f=stable.variables["k1l_f"], k1l_d=stable.variables["k1l_d"])
    # MAD-X's thin-lens tune against beamkit's thin-lens matrices: both exact, rounding ~1e-15.
    assert abs(optics.twiss_madx(mad).q_x - optics.twiss_matrices(stable).q_x) < 1e-12
