"""Grid layout of a field map as the compiled kernels read it (the one owner of it).

* trilinear: field values ``arr[iz, ix, iy, c]``, shape (nz, nx, ny, 3);
* tricubic: cubic B-spline coefficients of the not-a-knot tensor-product spline of each
  component, padded to ``PAD`` cells per side, ``arr[iz + PAD, ix + PAD, iy + PAD, c]``.

``grid_params`` packs ``(x0, y0, z0, 1/dx, 1/dy, 1/dz)`` for the kernels.
"""

import numpy as np
from scipy.linalg import solve_banded

PAD = 4  # cells of spline coefficients added on each side (the kernels need 1)


def grid_params(x, y, z):
    """``(x0, y0, z0, 1/dx, 1/dy, 1/dz)`` of regular axes, as a float array."""
    steps = [(a[-1] - a[0]) / (a.size - 1) for a in (x, y, z)]
    return np.array([x[0], y[0], z[0], 1 / steps[0], 1 / steps[1], 1 / steps[2]], dtype=float)


def layout(bx, by, bz, interpolation):
    """The array the kernels read for ``interpolation`` ("trilinear" or "tricubic")."""
    values = np.stack([bx, by, bz], axis=-1)  # (nx, ny, nz, 3)
    values = np.ascontiguousarray(values.transpose(2, 0, 1, 3))  # (nz, nx, ny, 3)
    if interpolation == "trilinear":
        return values
    coef = values
    for axis in range(3):
        coef = spline_coefficients(coef, axis)
    # c[-1] and c[n] are in place; the kernels never read further out
    pad = [(PAD - 1, PAD - 1)] * 3 + [(0, 0)]
    return np.ascontiguousarray(np.pad(coef, pad, mode="edge"))


def plane_shape(nx, ny, cubic):
    """Shape of one transverse plane of the layout (padded for tricubic)."""
    pad = PAD if cubic else 0
    return (nx + 2 * pad, ny + 2 * pad, 3)


def spline_coefficients(values, axis):
    """Uniform cubic B-spline coefficients of the not-a-knot interpolating spline.

    Returns c[-1..n] (n + 2 values along ``axis``). Interpolation at node i reads
    (c[i-1] + 4 c[i] + c[i+1]) / 6 = f[i]. The two extra conditions make the third
    derivative continuous at the second and the second-to-last nodes (not-a-knot), i.e.
    the fourth difference of c vanishes there: c[-1] = 4 c[0] - 6 c[1] + 4 c[2] - c[3]
    and likewise at the far end. Cubic polynomials are reproduced exactly.
    """
    f = np.moveaxis(values, axis, 0)
    n = f.shape[0]
    A = np.zeros((n, n))
    i = np.arange(1, n - 1)
    A[i, i - 1] = A[i, i + 1] = 1.0 / 6.0
    A[i, i] = 4.0 / 6.0
    A[0, :4] = np.array([8.0, -5.0, 4.0, -1.0]) / 6.0
    A[-1, -4:] = np.array([-1.0, 4.0, -5.0, 8.0]) / 6.0
    ab = np.zeros((7, n))
    for r in range(n):
        for col in range(max(0, r - 3), min(n, r + 4)):
            ab[3 + r - col, col] = A[r, col]
    c = solve_banded((3, 3), ab, f.reshape(n, -1)).reshape(f.shape)
    first = 4 * c[0] - 6 * c[1] + 4 * c[2] - c[3]
    last = 4 * c[-1] - 6 * c[-2] + 4 * c[-3] - c[-4]
    c = np.concatenate([first[None], c, last[None]])
    return np.moveaxis(c, 0, axis)
