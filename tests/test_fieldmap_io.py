"""FieldMap construction, interpolation and file formats; every bad input gets a named error."""

import numpy as np
import pytest
from scipy.interpolate import RegularGridInterpolator

from beamkit import FieldMapError, OutsideFieldMapError
from beamkit.fieldmap import FieldMap


def small_map(f=None):
    x = np.linspace(-0.02, 0.02, 9)
    y = np.linspace(-0.01, 0.01, 5)
    z = np.linspace(0.0, 0.3, 7)
    X, Y, Z = np.meshgrid(x, y, z, indexing="ij")
    if f is None:
        f = lambda X, Y, Z: (0.1 * Y * Z, 0.2 + 0.5 * X + 3 * X * Z, 0.01 * X * Y)  # noqa: E731
    bx, by, bz = f(X, Y, Z)
    return FieldMap(x, y, z, bx, by, bz, current_a=12.5, description="test map",
                    metadata={"bench": "unit test"})


@pytest.mark.parametrize("suffix", [".npz", ".h5", ".hdf5"])
def test_save_load_roundtrip(tmp_path, suffix):
    fm = small_map()
    path = tmp_path / f"map{suffix}"
    fm.save(path)
    back = FieldMap.load(path)
    for k in ("x", "y", "z", "bx", "by", "bz"):
        assert np.array_equal(getattr(back, k), getattr(fm, k))
    assert back.current_a == 12.5 and back.description == "test map"
    assert back.metadata == {"bench": "unit test"}


@pytest.mark.parametrize("delimiter,lunit,bunit", [(" ", "m", "T"), (",", "mm", "gauss"),
                                                    ("\t", "cm", "kG")])
def test_table_roundtrip_with_units_and_shuffled_rows(tmp_path, delimiter, lunit, bunit):
    fm = small_map()
    path = tmp_path / "map.txt"
    fm.to_table(path, length_unit=lunit, field_unit=bunit, delimiter=delimiter)
    lines = path.read_text().splitlines()
    rng = np.random.default_rng(3)
    body = lines[1:]
    rng.shuffle(body)  # rows in any order
    path.write_text("\n".join([lines[0], *body]) + "\n")
    back = FieldMap.from_table(path, length_unit=lunit, field_unit=bunit)
    # the table holds 10 significant digits
    assert np.allclose(back.x, fm.x, rtol=1e-9, atol=1e-15)
    assert np.allclose(back.by, fm.by, rtol=1e-9, atol=1e-15)


def test_table_with_text_header(tmp_path):
    fm = small_map()
    path = tmp_path / "map.csv"
    fm.to_table(path, delimiter=",")
    text = path.read_text().replace("# x[m]", "x,y,z,Bx,By,Bz\n# x[m]")
    path.write_text("Opera export\n" + text)
    back = FieldMap.from_table(path)
    assert back.shape == fm.shape


def write_rows(path, rows):
    path.write_text("\n".join(" ".join(f"{v:.10g}" for v in r) for r in rows) + "\n")


def grid_rows(fm):
    X, Y, Z = np.meshgrid(fm.x, fm.y, fm.z, indexing="ij")
    return np.column_stack([X.ravel(), Y.ravel(), Z.ravel(), fm.bx.ravel(), fm.by.ravel(),
                            fm.bz.ravel()])


def test_table_missing_points(tmp_path):
    rows = grid_rows(small_map())
    write_rows(tmp_path / "m.txt", np.delete(rows, [5, 17], axis=0))
    with pytest.raises(FieldMapError, match="2 of the 315 grid points .* are missing"):
        FieldMap.from_table(tmp_path / "m.txt")


def test_table_duplicate_point(tmp_path):
    rows = grid_rows(small_map())
    write_rows(tmp_path / "m.txt", np.vstack([rows, rows[:1]]))
    with pytest.raises(FieldMapError, match="appears 2 times"):
        FieldMap.from_table(tmp_path / "m.txt")


def test_table_nan_value(tmp_path):
    rows = grid_rows(small_map())
    rows[10, 4] = np.nan
    write_rows(tmp_path / "m.txt", rows)
    with pytest.raises(FieldMapError, match="by has 1 NaN or infinite"):
        FieldMap.from_table(tmp_path / "m.txt")


def test_table_uneven_axis(tmp_path):
    rows = grid_rows(small_map())
    rows[np.isclose(rows[:, 2], 0.3), 2] = 0.31  # last z plane moved
    write_rows(tmp_path / "m.txt", rows)
    with pytest.raises(FieldMapError, match="axis z is unevenly spaced"):
        FieldMap.from_table(tmp_path / "m.txt")


def test_table_wrong_columns_and_units(tmp_path):
    p = tmp_path / "m.txt"
    p.write_text("0 0 0 1 2\n")
    with pytest.raises(FieldMapError, match="has 5 columns, expected 6"):
        FieldMap.from_table(p)
    p.write_text("0 0 0 1 2 3\n0 0 0 1 2 x\n")
    with pytest.raises(FieldMapError, match="non-numeric"):
        FieldMap.from_table(p, skip_rows=0)
    with pytest.raises(FieldMapError, match="unknown length unit"):
        FieldMap.from_table(p, length_unit="inch")
    with pytest.raises(FieldMapError, match="unknown field unit"):
        FieldMap.from_table(p, field_unit="oersted")


def test_constructor_errors():
    x = np.linspace(0, 1, 5)
    good = np.zeros((5, 5, 5))
    with pytest.raises(FieldMapError, match="axis x is not strictly increasing"):
        FieldMap(x[::-1], x, x, good, good, good)
    with pytest.raises(FieldMapError, match="axis y has 3 point"):
        FieldMap(x, x[:3], x, good[:, :3], good[:, :3], good[:, :3])
    with pytest.raises(FieldMapError, match=r"bz has shape \(5, 5, 4\)"):
        FieldMap(x, x, x, good, good, good[:, :, :4])
    bad = good.copy()
    bad[1, 2, 3] = np.inf
    with pytest.raises(FieldMapError, match=r"bx has 1 NaN or infinite value\(s\), first at"):
        FieldMap(x, x, x, bad, good, good)


def test_load_errors(tmp_path):
    np.savez(tmp_path / "m.npz", x=np.arange(5.0))
    with pytest.raises(FieldMapError, match="missing entries"):
        FieldMap.load(tmp_path / "m.npz")
    with pytest.raises(FieldMapError, match="cannot tell the format"):
        FieldMap.load(tmp_path / "m.dat")
    with pytest.raises(FileNotFoundError):
        FieldMap.load(tmp_path / "none.npz")
    fm = small_map()
    fm.save(tmp_path / "ok.npz")
    with np.load(tmp_path / "ok.npz") as f:
        d = dict(f)
    d["by"] = d["by"].copy()
    d["by"][0, 0, 0] = np.nan
    np.savez(tmp_path / "nan.npz", **d)
    with pytest.raises(FieldMapError, match="nan.npz: by has 1 NaN"):
        FieldMap.load(tmp_path / "nan.npz")


def test_trilinear_equals_scipy_linear():
    fm = small_map(lambda X, Y, Z: (np.sin(40 * X) * Z, np.cos(30 * Y + Z), X * Y * Z))
    rng = np.random.default_rng(0)
    pts = [rng.uniform(a[0], a[-1], 500) for a in (fm.x, fm.y, fm.z)]
    ours = fm.field(*pts, interpolation="trilinear")
    for comp, b in zip(ours, (fm.bx, fm.by, fm.bz)):
        ref = RegularGridInterpolator((fm.x, fm.y, fm.z), b, method="linear")(np.column_stack(pts))
        assert np.allclose(comp, ref, rtol=0, atol=1e-14)


def test_tricubic_exact_for_cubics_and_at_nodes_and_fourth_order():
    # cubic polynomials are reproduced everywhere (not-a-knot ends)
    cub = lambda X, Y, Z: 1 + 2 * X - Y + 0.5 * Z + 30 * X**3 - 40 * X * Y * Z + 9 * Z**2  # noqa: E731
    fm = small_map(lambda X, Y, Z: (cub(X, Y, Z), 3 * Y, -X + Z))
    rng = np.random.default_rng(1)
    pts = [rng.uniform(a[0], a[-1], 300) for a in (fm.x, fm.y, fm.z)]
    bx, by, bz = fm.field(*pts)
    assert np.allclose(bx, cub(*pts), rtol=0, atol=1e-13)
    # the interpolant passes through the data
    f = lambda X, Y, Z: (np.sin(20 * X + 5 * Z), np.cos(30 * Y) * Z, X * Y)  # noqa: E731
    fm = small_map(f)
    X, Y, Z = np.meshgrid(fm.x, fm.y, fm.z, indexing="ij")
    assert np.allclose(fm.field(X, Y, Z)[0], fm.bx, atol=1e-13)

    # error at the cell centre of the middle cell falls as h^4 (smooth function)
    def err(n):
        x = np.linspace(-0.4, 0.4, n)
        g = lambda X, Y, Z: np.sin(3 * X + 1) * np.cos(2 * Y) * np.exp(Z)  # noqa: E731
        Xg, Yg, Zg = np.meshgrid(x, x, x, indexing="ij")
        m = FieldMap(x, x, x, g(Xg, Yg, Zg), np.zeros_like(Xg), np.zeros_like(Xg))
        p = np.full(1, 0.5 * (x[n // 2] + x[n // 2 + 1]))
        return abs(m.field(p, p, p)[0][0] - g(p, p, p)[0])

    ratio = err(33) / err(65)
    assert 12 < ratio < 20, ratio  # 2^4 = 16 for a fourth-order interpolant


def test_tricubic_equals_scipy_spline_tensor_product():
    from scipy.interpolate import make_interp_spline

    fm = small_map(lambda X, Y, Z: (np.sin(40 * X) * Z, np.cos(30 * Y + Z) * X, X * Y * Z))
    rng = np.random.default_rng(2)
    for _ in range(5):
        p = [rng.uniform(a[0], a[-1]) for a in (fm.x, fm.y, fm.z)]
        ours = fm.field(*p)[0]
        # interpolate along z, then y, then x, with scipy's (not-a-knot) cubic splines
        vz = make_interp_spline(fm.z, fm.bx, k=3, axis=2)(p[2])
        vy = make_interp_spline(fm.y, vz, k=3, axis=1)(p[1])
        ref = make_interp_spline(fm.x, vy, k=3, axis=0)(p[0])
        assert abs(ours - ref) < 1e-14


def test_field_outside_raises_or_nan():
    fm = small_map()
    with pytest.raises(OutsideFieldMapError, match="1 point.* outside the field map, first at"):
        fm.field([0.0, 0.03], [0.0, 0.0], [0.1, 0.1])
    bx, by, bz = fm.field([0.0, 0.03], [0.0, 0.0], [0.1, 0.1], outside="nan")
    assert np.isfinite(by[0]) and np.isnan(by[1])


def test_scaled_and_added():
    fm = small_map()
    s = fm.scaled(2.0) + fm
    assert np.allclose(s.by, 3 * fm.by)
