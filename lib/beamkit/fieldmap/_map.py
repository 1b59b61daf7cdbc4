"""The :class:`FieldMap` container: a magnetic field on a regular 3D grid, with I/O.

About 480 lines because one class keeps a map's three file formats (npz, HDF5, text tables
with units) together with the checks that make a map trustworthy (axes, shapes, finite
values, missing or duplicated grid points); splitting them would separate a format from its
checks.
"""

from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import dataclass, field

import numpy as np

from .. import _validate as v
from .._threads import numba_threads
from ..errors import FieldMapError, InputError, OutsideFieldMapError
from . import _grid
from ._kernels import eval_points

__all__ = ["FieldMap"]

_LENGTH_UNITS = {"m": 1.0, "cm": 1e-2, "mm": 1e-3}
_FIELD_UNITS = {"t": 1.0, "mt": 1e-3, "gauss": 1e-4, "g": 1e-4, "kg": 0.1, "kgauss": 0.1}
# Relative tolerance on the spacing of a grid axis. Tables written with 6 significant
# digits give spacings equal to ~1e-6 relative; anything larger is a real unevenness.
_SPACING_RTOL = 1e-5
# Plausible sizes and fields: outside them a map is legal but probably in the wrong unit
# (a BeamkitWarning, not an error). Transverse spans from 1 mm to 2 m, longitudinal from
# 1 mm to 20 m (an LHC dipole with its fringes is ~16 m): a table in mm read as m gives
# spans 1000 times too large. Fields up to 20 T (the strongest accelerator magnets reach
# ~16 T): gauss read as tesla gives fields 1e4 times too large.
_SPAN_TRANSVERSE_M = (1e-3, 2.0)
_SPAN_Z_M = (1e-3, 20.0)
_FIELD_MAX_T = 20.0


def _check_axis(name, values):
    if np.iscomplexobj(values):
        raise FieldMapError(f"axis {name} is complex; give real coordinates in m")
    a = np.array(values, dtype=float, copy=True)  # never the caller's array
    if a.ndim != 1:
        raise FieldMapError(f"axis {name} must be one-dimensional, got shape {a.shape}")
    if a.size < 4:
        raise FieldMapError(
            f"axis {name} has {a.size} point(s); at least 4 are needed (tricubic interpolation "
            "uses 4 points per axis)"
        )
    if not np.all(np.isfinite(a)):
        raise FieldMapError(f"axis {name} contains NaN or infinite values")
    step = np.diff(a)
    if np.any(step <= 0):
        i = int(np.argmax(step <= 0))
        raise FieldMapError(
            f"axis {name} is not strictly increasing: {name}[{i}] = {a[i]:.9g} m is followed "
            f"by {name}[{i + 1}] = {a[i + 1]:.9g} m"
        )
    h = (a[-1] - a[0]) / (a.size - 1)
    dev = np.max(np.abs(step - h)) / h
    if dev > _SPACING_RTOL:
        i = int(np.argmax(np.abs(step - h)))
        raise FieldMapError(
            f"axis {name} is unevenly spaced: step {i} is {step[i]:.9g} m but the mean step "
            f"is {h:.9g} m (relative deviation {dev:.2g} > {_SPACING_RTOL:g}); the map must "
            "be on a regular grid"
        )
    a.setflags(write=False)
    return a


@dataclass(eq=False)
class FieldMap:
    """A static magnetic field on a regular Cartesian grid.

    Parameters
    ----------
    x, y, z : array_like, shape (nx,), (ny,), (nz,)
        Grid axes in m: strictly increasing and evenly spaced, at least 4 points each.
        ``z`` is the longitudinal axis (the independent variable when tracking), ``y``
        the vertical one.
    bx, by, bz : array_like, shape (nx, ny, nz)
        Field components in T, indexed ``[ix, iy, iz]``. All values must be finite.
    current_a : float, optional
        Excitation current of the magnet for this map, in A.
    frame : str
        Name of the map's coordinate frame (default ``"cartesian"``).
    description : str
        Free text: which magnet, which code or bench, date.
    metadata : dict
        Any further JSON-serialisable information; saved and loaded with the map.

    Raises
    ------
    beamkit.FieldMapError
        On unordered, uneven or too short axes, arrays of the wrong shape, NaN or inf.

    Warns
    -----
    beamkit.BeamkitWarning
        When a transverse span lies outside [1 mm, 2 m], the z span outside [1 mm, 20 m]
        or the largest field component exceeds 20 T: probably a table in mm read as m,
        or gauss read as tesla.

    Notes
    -----
    The map holds its own read-only copies of the axes and field arrays: the caller's
    arrays are neither shared nor modified. The map is never extrapolated: :meth:`field`
    and :func:`beamkit.fieldmap.track` refuse, or mark a particle lost, outside
    ``[x[0], x[-1]] x [y[0], y[-1]] x [z[0], z[-1]]``. Two interpolations are offered (see :meth:`field`).
    """

    x: np.ndarray
    y: np.ndarray
    z: np.ndarray
    bx: np.ndarray
    by: np.ndarray
    bz: np.ndarray
    current_a: float | None = None
    frame: str = "cartesian"
    description: str = ""
    metadata: dict = field(default_factory=dict)

    def __post_init__(self):
        self.x = _check_axis("x", self.x)
        self.y = _check_axis("y", self.y)
        self.z = _check_axis("z", self.z)
        shape = (self.x.size, self.y.size, self.z.size)
        bmax = 0.0
        for name in ("bx", "by", "bz"):
            raw = getattr(self, name)
            if np.iscomplexobj(raw):
                raise FieldMapError(f"{name} is complex; give the real field components in T")
            b = np.array(raw, dtype=float, order="C", copy=True)  # never the caller's array
            if b.shape != shape:
                raise FieldMapError(
                    f"{name} has shape {b.shape} but the axes give (nx, ny, nz) = {shape}"
                )
            bad = ~np.isfinite(b)
            if bad.any():
                ix, iy, iz = np.argwhere(bad)[0]
                raise FieldMapError(
                    f"{name} has {int(bad.sum())} NaN or infinite value(s), first at "
                    f"(x, y, z) = ({self.x[ix]:.6g}, {self.y[iy]:.6g}, {self.z[iz]:.6g}) m"
                )
            bmax = max(bmax, float(np.max(np.abs(b))))
            b.setflags(write=False)
            setattr(self, name, b)
        spans = [a[-1] - a[0] for a in (self.x, self.y, self.z)]
        v.plausible("the map's x and y spans", spans[:2], *_SPAN_TRANSVERSE_M, "m",
                    "a table in mm read as m (or m read as mm)? check length_unit", stacklevel=4)
        v.plausible("the map's z span", spans[2], *_SPAN_Z_M, "m",
                    "a table in mm read as m (or m read as mm)? check length_unit", stacklevel=4)
        v.plausible("the largest field component", bmax, 0.0, _FIELD_MAX_T, "T",
                    "a table in gauss read as tesla? check field_unit", stacklevel=4)
        if self.current_a is not None:
            self.current_a = v.scalar("current_a", self.current_a, unit="A", allow_none=True)
        self.metadata = dict(self.metadata)
        self._cache = {}

    # ------------------------------------------------------------------ geometry
    @property
    def shape(self):
        """``(nx, ny, nz)``."""
        return (self.x.size, self.y.size, self.z.size)

    @property
    def spacing(self):
        """Grid steps ``(dx, dy, dz)`` in m."""
        return tuple((a[-1] - a[0]) / (a.size - 1) for a in (self.x, self.y, self.z))

    @property
    def bounds(self):
        """``((x_min, x_max), (y_min, y_max), (z_min, z_max))`` in m."""
        return tuple((float(a[0]), float(a[-1])) for a in (self.x, self.y, self.z))

    def contains(self, x, y, z):
        """Boolean array: which points ``(x, y, z)`` (m) lie inside the grid."""
        (x0, x1), (y0, y1), (z0, z1) = self.bounds
        x, y, z = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (x, y, z)))
        return (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1) & (z >= z0) & (z <= z1)

    def __repr__(self):
        (x0, x1), (y0, y1), (z0, z1) = self.bounds
        cur = f", current {self.current_a:g} A" if self.current_a is not None else ""
        return (
            f"FieldMap({self.shape[0]} x {self.shape[1]} x {self.shape[2]} points, "
            f"x [{x0:g}, {x1:g}] m, y [{y0:g}, {y1:g}] m, z [{z0:g}, {z1:g}] m{cur})"
        )

    # ------------------------------------------------------------------ arithmetic
    def scaled(self, factor, current_a=None):
        """A copy with every field component multiplied by ``factor``."""
        factor = v.scalar("factor", factor)
        return self._replace(
            self.bx * factor, self.by * factor, self.bz * factor, current_a=current_a
        )

    def __add__(self, other):
        if not isinstance(other, FieldMap):
            return NotImplemented
        if other.shape != self.shape or not all(
            np.allclose(a, b, rtol=0, atol=1e-12)
            for a, b in ((self.x, other.x), (self.y, other.y), (self.z, other.z))
        ):
            raise FieldMapError("field maps can only be added on the same grid")
        return self._replace(self.bx + other.bx, self.by + other.by, self.bz + other.bz)

    def _replace(self, bx, by, bz, current_a=None):
        return FieldMap(
            self.x, self.y, self.z, bx, by, bz,
            current_a=current_a, frame=self.frame, description=self.description,
            metadata=self.metadata,
        )

    # ------------------------------------------------------------------ interpolation
    def _grid_params(self):
        return _grid.grid_params(self.x, self.y, self.z)

    def _layout(self, interpolation):
        """Arrays used by the compiled kernels (see :mod:`._grid`), cached."""
        v.choice("interpolation", interpolation, ("tricubic", "trilinear"),
                 fix="unknown interpolation: use 'tricubic' or 'trilinear'")
        if interpolation not in self._cache:
            self._cache[interpolation] = _grid.layout(self.bx, self.by, self.bz, interpolation)
        return self._cache[interpolation]

    def field(self, x, y, z, interpolation="tricubic", outside="raise"):
        """Interpolated field at points ``(x, y, z)`` in m.

        Parameters
        ----------
        x, y, z : array_like
            Coordinates in m (broadcast together).
        interpolation : {"tricubic", "trilinear"}
            ``"tricubic"`` (the reference) is the tensor-product cubic spline interpolant
            (not-a-knot ends, as scipy's default) of each component: twice continuously
            differentiable, error O(h^4) for a grid step h, exact for cubic polynomials.
            ``"trilinear"`` is faster but only continuous; its field is not divergence-free
            between grid points, so a pass through it is measurably non-symplectic.
        outside : {"raise", "nan"}
            What to do with points outside the grid: raise
            :class:`beamkit.OutsideFieldMapError` (default) or return NaN there.

        Returns
        -------
        bx, by, bz : numpy.ndarray
            Field components in T, with the broadcast shape of the inputs.
        """
        v.choice("outside", outside, ("raise", "nan"), fix="outside must be 'raise' or 'nan'")
        self._layout(interpolation)  # checks the name before any work
        xyz = [v.array(n, a, allow_nan=True, unit="m") for n, a in (("x", x), ("y", y), ("z", z))]
        try:
            x, y, z = np.broadcast_arrays(*xyz)
        except ValueError:
            raise InputError("x, y, z", [a.shape for a in xyz], "cannot be broadcast to one shape",
                             "give arrays of one shape (or scalars)") from None
        shape = x.shape
        pts = np.stack([x.ravel(), y.ravel(), z.ravel()])
        inside = self.contains(*pts)
        if outside == "raise" and not inside.all():
            i = int(np.argmin(inside))
            raise OutsideFieldMapError((~inside).sum(), pts[:, i], self.bounds)
        out = np.full((3, pts.shape[1]), np.nan)
        arr = self._layout(interpolation)
        numba_threads(pts.shape[1], 4096)  # small requests: no threads to wake
        eval_points(
            arr, self._grid_params(), np.array(self.shape), interpolation == "tricubic",
            np.ascontiguousarray(pts[0]), np.ascontiguousarray(pts[1]),
            np.ascontiguousarray(pts[2]), out,
        )
        return tuple(o.reshape(shape) for o in out)

    def field_function(self, interpolation="tricubic"):
        """A callable ``f(x, y, z) -> (bx, by, bz)`` (NaN outside), e.g. for
        :class:`xtrack.BorisSpatialIntegrator`."""

        def f(x, y, z):
            return self.field(x, y, z, interpolation=interpolation, outside="nan")

        return f

    # ------------------------------------------------------------------ I/O
    def _meta_dict(self):
        return {
            "units": {"x": "m", "y": "m", "z": "m", "bx": "T", "by": "T", "bz": "T"},
            "current_a": self.current_a,
            "frame": self.frame,
            "description": self.description,
            "metadata": self.metadata,
        }

    def save(self, path):
        """Write the map to ``path``: ``.npz`` (numpy) or ``.h5``/``.hdf5`` (HDF5).

        Both hold datasets ``x, y, z`` (m) and ``bx, by, bz`` (T, shape (nx, ny, nz)) and
        the metadata as JSON (``meta`` entry in npz, file attributes in HDF5).
        """
        path = os.fspath(path)
        kind = _kind(path)
        arrays = {k: getattr(self, k) for k in ("x", "y", "z", "bx", "by", "bz")}
        meta = json.dumps(self._meta_dict())
        if kind == "npz":
            np.savez_compressed(path, meta=np.array(meta), **arrays)
        else:
            import h5py

            with h5py.File(path, "w") as f:
                for k, v in arrays.items():
                    f.create_dataset(k, data=v)
                    f[k].attrs["unit"] = "m" if k in "xyz" else "T"
                f.attrs["beamkit_meta"] = meta

    @classmethod
    def load(cls, path):
        """Read a map written by :meth:`save` (``.npz``, ``.h5`` or ``.hdf5``).

        Raises
        ------
        beamkit.FieldMapError
            When an entry is missing or the data fail the checks of :class:`FieldMap`.
        FileNotFoundError
            When ``path`` does not exist.
        """
        path = os.fspath(path)
        kind = _kind(path)
        if not os.path.exists(path):
            raise FileNotFoundError(f"no field-map file {path!r}")
        names = ("x", "y", "z", "bx", "by", "bz")
        try:
            arrays, meta = _read_file(path, kind, names)
        except FieldMapError:
            raise
        except Exception as exc:  # noqa: BLE001 - zip, HDF5, JSON and numpy all fail differently
            raise FieldMapError(
                f"{path}: cannot be read as a {kind} field map ({type(exc).__name__}: {exc}); "
                "the file is corrupt, truncated or not written by FieldMap.save"
            ) from None
        if not isinstance(meta, dict):
            raise FieldMapError(f"{path}: the metadata entry is not a JSON object")
        try:
            return cls(
                **arrays,
                current_a=meta.get("current_a"),
                frame=meta.get("frame", "cartesian"),
                description=meta.get("description", ""),
                metadata=meta.get("metadata", {}),
            )
        except (FieldMapError, InputError) as exc:
            raise FieldMapError(f"{path}: {exc}") from None

    @classmethod
    def from_table(
        cls,
        path,
        *,
        length_unit="m",
        field_unit="T",
        columns=("x", "y", "z", "bx", "by", "bz"),
        delimiter=None,
        comments=("#", "%", "!"),
        skip_rows=0,
        **kwargs,
    ):
        """Read a text table with one grid point per row, as magnet codes and
        measurement benches export them.

        Parameters
        ----------
        path : str or path-like
            Whitespace-separated or CSV file (the delimiter is guessed unless given).
            Lines starting with a ``comments`` character and non-numeric header lines
            at the top are skipped. Rows may come in any order.
        length_unit : {"m", "cm", "mm"}
            Unit of the x, y, z columns.
        field_unit : {"T", "mT", "gauss", "G", "kG"}
            Unit of the field columns.
        columns : sequence of str
            Names of the columns in file order; must contain x, y, z, bx, by, bz, and
            other names (e.g. ``"skip"``) mark columns to ignore.
        delimiter : str, optional
            Column separator; ``None`` guesses between comma, semicolon, tab and blanks.
        skip_rows : int
            Number of leading lines to drop unconditionally.
        **kwargs
            Passed to :class:`FieldMap` (``current_a``, ``description``, ...).

        Raises
        ------
        beamkit.FieldMapError
            Unknown units, wrong number of columns, non-numeric data, missing or
            duplicated grid points, uneven axes, NaN or infinite values.
        """
        lscale, bscale = _unit_scales(length_unit, field_unit)
        skip_rows = v.integer("skip_rows", skip_rows, minimum=0)
        cols = [c.lower() for c in columns]
        need = ["x", "y", "z", "bx", "by", "bz"]
        if any(cols.count(n) != 1 for n in need):
            raise FieldMapError(f"columns must name each of {need} exactly once, got {columns}")

        data = _read_rows(path, cols, columns, comments, delimiter, skip_rows)
        axes, comps = _assemble_grid(path, {n: data[:, cols.index(n)] for n in need},
                                     lscale, bscale)
        try:
            return cls(*axes, comps["bx"], comps["by"], comps["bz"], **kwargs)
        except FieldMapError as exc:
            raise FieldMapError(f"{path}: {exc}") from None

    def to_table(self, path, *, length_unit="m", field_unit="T", delimiter=" "):
        """Write the map as a text table (x y z Bx By Bz, one grid point per row)."""
        lscale, bscale = _unit_scales(length_unit, field_unit)
        X, Y, Z = np.meshgrid(self.x, self.y, self.z, indexing="ij")
        data = np.column_stack(
            [a.ravel() / lscale for a in (X, Y, Z)]
            + [b.ravel() / bscale for b in (self.bx, self.by, self.bz)]
        )
        header = (
            f"x[{length_unit}] y[{length_unit}] z[{length_unit}] "
            f"Bx[{field_unit}] By[{field_unit}] Bz[{field_unit}]"
        )
        np.savetxt(path, data, delimiter=delimiter, header=header, fmt="%.10g")


def _unit_scales(length_unit, field_unit):
    """Factors to m and to T for the unit names of a table."""
    try:
        lscale = _LENGTH_UNITS[str(length_unit).lower()]
    except KeyError:
        raise FieldMapError(
            f"unknown length unit {length_unit!r}; use one of {sorted(_LENGTH_UNITS)}"
        ) from None
    try:
        bscale = _FIELD_UNITS[str(field_unit).lower()]
    except KeyError:
        raise FieldMapError(
            f"unknown field unit {field_unit!r}; use T, mT, gauss (G) or kG"
        ) from None
    return lscale, bscale


def _read_file(path, kind, names):
    """Arrays and metadata dict of a map file written by :meth:`FieldMap.save`."""
    if kind == "npz":
        with np.load(path, allow_pickle=False) as f:
            missing = [k for k in names if k not in f.files]
            if missing:
                raise FieldMapError(f"{path}: missing entries {missing}")
            arrays = {k: f[k] for k in names}
            meta = json.loads(str(f["meta"])) if "meta" in f.files else {}
    else:
        import h5py

        with h5py.File(path, "r") as f:
            missing = [k for k in names if k not in f]
            if missing:
                raise FieldMapError(f"{path}: missing datasets {missing}")
            arrays = {k: f[k][()] for k in names}
            meta = json.loads(f.attrs["beamkit_meta"]) if "beamkit_meta" in f.attrs else {}
    return arrays, meta


def _read_rows(path, cols, columns, comments, delimiter, skip_rows):
    """Numeric rows of a text table as an array (n_rows, len(cols)); see ``from_table``."""
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = f.read().splitlines()[skip_rows:]
    lines = [ln for ln in lines if ln.strip() and not ln.lstrip().startswith(tuple(comments))]
    if not lines:
        raise FieldMapError(f"{path}: no data rows")
    if delimiter is None:
        sample = "\n".join(lines[-5:])
        delimiter = next((d for d in (",", ";", "\t") if d in sample), None)
    rows = []
    for lineno, ln in enumerate(lines):
        parts = next(csv.reader(io.StringIO(ln), delimiter=delimiter)) if delimiter else ln.split()
        parts = [p for p in parts if p.strip() != ""]
        try:
            vals = [float(p) for p in parts]
        except ValueError:
            if not rows:  # a header line before the data
                continue
            raise FieldMapError(f"{path}: non-numeric value in data row {lineno + 1}: {ln!r}") from None
        if len(vals) != len(cols):
            raise FieldMapError(
                f"{path}: data row {lineno + 1} has {len(vals)} columns, expected "
                f"{len(cols)} ({', '.join(columns)}): {ln!r}"
            )
        rows.append(vals)
    if not rows:
        raise FieldMapError(f"{path}: no numeric data rows")
    return np.array(rows)


def _assemble_grid(path, col, lscale, bscale):
    """Axes (m) and field components (T, shape (nx, ny, nz)) from table columns ``col``,
    checking that every grid point appears exactly once."""
    axes = []
    index = []
    for n in ("x", "y", "z"):
        v = col[n] * lscale
        # Values printed with finite precision: identify equal coordinates to 1e-9 m.
        key = np.round(v / 1e-9).astype(np.int64)
        uniq, inv = np.unique(key, return_inverse=True)
        first = np.array([v[np.argmax(inv == k)] for k in range(uniq.size)])
        axes.append(first)
        index.append(inv)
    shape = tuple(a.size for a in axes)
    n_expected = int(np.prod(shape))
    flat = np.ravel_multi_index(index, shape)
    counts = np.bincount(flat, minlength=n_expected)
    for bad, what in ((counts > 1, "duplicate"), (counts == 0, "missing")):
        if np.any(bad):
            k = int(np.argmax(bad))
            ix, iy, iz = np.unravel_index(k, shape)
            where = f"({axes[0][ix]:.6g}, {axes[1][iy]:.6g}, {axes[2][iz]:.6g}) m"
            if what == "duplicate":
                raise FieldMapError(f"{path}: grid point (x, y, z) = {where} appears {counts[k]} times")
            raise FieldMapError(
                f"{path}: {int(bad.sum())} of the {n_expected} grid points "
                f"({shape[0]} x {shape[1]} x {shape[2]}) are missing, first at (x, y, z) = {where}"
            )
    comps = {}
    for n in ("bx", "by", "bz"):
        b = np.empty(n_expected)
        b[flat] = col[n] * bscale
        comps[n] = b.reshape(shape)
    return axes, comps


def _kind(path):
    low = path.lower()
    if low.endswith(".npz"):
        return "npz"
    if low.endswith((".h5", ".hdf5")):
        return "h5"
    raise FieldMapError(
        f"cannot tell the format of {path!r} from its suffix: use .npz, .h5 or .hdf5 "
        "(text tables are read with FieldMap.from_table)"
    )
