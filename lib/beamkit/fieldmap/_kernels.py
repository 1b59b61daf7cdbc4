"""Compiled (numba) kernels for field-map interpolation and tracking.

The grid layout is owned by :mod:`._grid` and the loss codes by :mod:`._loss`.

Because every particle is at the same ``z`` (the independent variable), the longitudinal
part of the interpolation is done once per integration stage for the whole beam: the 3D
array is contracted to a transverse *plane* at that ``z`` (:func:`make_planes`, serial and
cheap), and each particle only needs a 2D (bilinear or bicubic) evaluation. This saves a
factor 2 (linear) or 4 (cubic) in memory reads per particle and stage.

Parallelism is outside: :func:`advance` is serial and releases the GIL, and the caller
gives each thread a large piece of the beam for all the steps (one fork and one join per
track, see :func:`beamkit._threads.run_chunks`), so that no thread waits at every step or
plane for one that another process has descheduled. Nothing inside the kernels allocates.
"""

import math

import numba as nb

from ._grid import PAD
from ._loss import ALIVE, LEFT_MAP, TURNED_BACK

_FASTMATH = {"contract", "arcp", "afn", "reassoc"}  # no nnan/ninf: NaN marks lost particles


@nb.njit(inline="always", cache=True, error_model="numpy", fastmath=_FASTMATH)
def _bspline_weights(t):
    t2 = t * t
    t3 = t2 * t
    s = 1.0 - t
    return (s * s * s / 6.0, (3.0 * t3 - 6.0 * t2 + 4.0) / 6.0,
            (-3.0 * t3 + 3.0 * t2 + 3.0 * t + 1.0) / 6.0, t3 / 6.0)


@nb.njit(inline="always", cache=True, error_model="numpy", fastmath=_FASTMATH)
def _cell(u, n):
    """Cell index and fraction for grid coordinate u in [0, n-1] (caller checks range)."""
    i = math.floor(u)
    i = min(i, n - 2)
    return i, u - i


@nb.njit(parallel=True, cache=True, nogil=True, error_model="numpy", fastmath=_FASTMATH)
def eval_points(arr, gp, shape, cubic, x, y, z, out):
    """Full 3D interpolation at arbitrary points (NaN outside). ``gp`` = (x0, y0, z0,
    1/dx, 1/dy, 1/dz); ``shape`` = (nx, ny, nz) of the unpadded grid."""
    nx, ny, nz = shape[0], shape[1], shape[2]
    for p in nb.prange(x.size):
        u = (x[p] - gp[0]) * gp[3]
        v = (y[p] - gp[1]) * gp[4]
        w = (z[p] - gp[2]) * gp[5]
        if not (u >= 0.0 and u <= nx - 1 and v >= 0.0 and v <= ny - 1 and w >= 0.0 and w <= nz - 1):
            continue
        i, tu = _cell(u, nx)
        j, tv = _cell(v, ny)
        k, tw = _cell(w, nz)
        b0 = 0.0
        b1 = 0.0
        b2 = 0.0
        if cubic:
            wu = _bspline_weights(tu)
            wv = _bspline_weights(tv)
            ww = _bspline_weights(tw)
            for c in range(4):
                for a in range(4):
                    for b in range(4):
                        wt = ww[c] * wu[a] * wv[b]
                        kk = k + PAD - 1 + c
                        ii = i + PAD - 1 + a
                        jj = j + PAD - 1 + b
                        b0 += wt * arr[kk, ii, jj, 0]
                        b1 += wt * arr[kk, ii, jj, 1]
                        b2 += wt * arr[kk, ii, jj, 2]
        else:
            for c in range(2):
                for a in range(2):
                    for b in range(2):
                        wt = (tw if c else 1.0 - tw) * (tu if a else 1.0 - tu) * (tv if b else 1.0 - tv)
                        b0 += wt * arr[k + c, i + a, j + b, 0]
                        b1 += wt * arr[k + c, i + a, j + b, 1]
                        b2 += wt * arr[k + c, i + a, j + b, 2]
        out[0, p] = b0
        out[1, p] = b1
        out[2, p] = b2


@nb.njit(cache=True, nogil=True, error_model="numpy", fastmath=_FASTMATH)
def make_planes(arr, z0, inv_dz, nz, cubic, zs, planes):
    """Contract the 3D array along z at each of ``zs`` (all inside the map) into
    ``planes[m, ix, iy, c]``. Serial: a plane is a few 1e4 multiply-adds."""
    for m in range(zs.size):
        w = min(max((zs[m] - z0) * inv_dz, 0.0), nz - 1.0)  # clamp rounding overshoot
        k, t = _cell(w, nz)
        if cubic:
            wz = _bspline_weights(t)
            for i in range(planes.shape[1]):
                for j in range(planes.shape[2]):
                    for c in range(3):
                        planes[m, i, j, c] = (wz[0] * arr[k + PAD - 1, i, j, c]
                                              + wz[1] * arr[k + PAD, i, j, c]
                                              + wz[2] * arr[k + PAD + 1, i, j, c]
                                              + wz[3] * arr[k + PAD + 2, i, j, c])
        else:
            for i in range(planes.shape[1]):
                for j in range(planes.shape[2]):
                    for c in range(3):
                        planes[m, i, j, c] = (1.0 - t) * arr[k, i, j, c] + t * arr[k + 1, i, j, c]


@nb.njit(inline="always", cache=True, error_model="numpy", fastmath=_FASTMATH)
def _plane_field(planes, m, x, y, x0, y0, inv_dx, inv_dy, nx, ny, cubic):
    """Field from plane m at (x, y); returns (ok, bx, by, bz)."""
    u = (x - x0) * inv_dx
    v = (y - y0) * inv_dy
    if not (u >= 0.0 and u <= nx - 1 and v >= 0.0 and v <= ny - 1):
        return False, 0.0, 0.0, 0.0
    i, tu = _cell(u, nx)
    j, tv = _cell(v, ny)
    b0 = 0.0
    b1 = 0.0
    b2 = 0.0
    if cubic:
        wu = _bspline_weights(tu)
        wv = _bspline_weights(tv)
        for a in range(4):
            ii = i + PAD - 1 + a
            r0 = 0.0
            r1 = 0.0
            r2 = 0.0
            for b in range(4):
                jj = j + PAD - 1 + b
                r0 += wv[b] * planes[m, ii, jj, 0]
                r1 += wv[b] * planes[m, ii, jj, 1]
                r2 += wv[b] * planes[m, ii, jj, 2]
            b0 += wu[a] * r0
            b1 += wu[a] * r1
            b2 += wu[a] * r2
    else:
        w00 = (1.0 - tu) * (1.0 - tv)
        w01 = (1.0 - tu) * tv
        w10 = tu * (1.0 - tv)
        w11 = tu * tv
        b0 = (w00 * planes[m, i, j, 0] + w01 * planes[m, i, j + 1, 0]
              + w10 * planes[m, i + 1, j, 0] + w11 * planes[m, i + 1, j + 1, 0])
        b1 = (w00 * planes[m, i, j, 1] + w01 * planes[m, i, j + 1, 1]
              + w10 * planes[m, i + 1, j, 1] + w11 * planes[m, i + 1, j + 1, 1])
        b2 = (w00 * planes[m, i, j, 2] + w01 * planes[m, i, j + 1, 2]
              + w10 * planes[m, i + 1, j, 2] + w11 * planes[m, i + 1, j + 1, 2])
    return True, b0, b1, b2


@nb.njit(inline="always", cache=True, error_model="numpy", fastmath=_FASTMATH)
def _inside(x, y, g):
    """Whether (x, y) lies in the map's transverse range (the test of _plane_field)."""
    x0, y0, ix, iy, nx, ny, _ = g
    u = (x - x0) * ix
    v = (y - y0) * iy
    return u >= 0.0 and u <= nx - 1 and v >= 0.0 and v <= ny - 1


@nb.njit(inline="always", cache=True, error_model="numpy", fastmath=_FASTMATH)
def _rhs(px, py, p2, kq, bx, by, bz):
    """Right-hand side of the exact equations with z as independent variable.

    Returns (ok, x', y', px', py'); ok is False when pz^2 <= 0."""
    pz2 = p2 - px * px - py * py
    if pz2 <= 0.0:
        return False, 0.0, 0.0, 0.0, 0.0
    inv_pz = 1.0 / math.sqrt(pz2)
    xp = px * inv_pz
    yp = py * inv_pz
    return True, xp, yp, kq * (yp * bz - by), kq * (bx - xp * bz)


@nb.njit(inline="always", cache=True, error_model="numpy", fastmath=_FASTMATH)
def _rk4_step(planes, m, X, PX, Y, PY, P2, K, h, g):
    """One classical RK4 step; planes m, m+1, m+2 are at z, z + h/2, z + h.
    ``g`` = (x0, y0, 1/dx, 1/dy, nx, ny, cubic). Returns (code, X, PX, Y, PY)."""
    x0, y0, ix, iy, nx, ny, cubic = g
    ok, bx, by, bz = _plane_field(planes, m, X, Y, x0, y0, ix, iy, nx, ny, cubic)
    if not ok:
        return LEFT_MAP, X, PX, Y, PY
    ok2, k1x, k1y, k1px, k1py = _rhs(PX, PY, P2, K, bx, by, bz)
    ok, bx, by, bz = _plane_field(planes, m + 1, X + 0.5 * h * k1x, Y + 0.5 * h * k1y,
                                  x0, y0, ix, iy, nx, ny, cubic)
    if not ok:
        return LEFT_MAP, X, PX, Y, PY
    if not ok2:
        return TURNED_BACK, X, PX, Y, PY
    ok2, k2x, k2y, k2px, k2py = _rhs(PX + 0.5 * h * k1px, PY + 0.5 * h * k1py, P2, K, bx, by, bz)
    ok, bx, by, bz = _plane_field(planes, m + 1, X + 0.5 * h * k2x, Y + 0.5 * h * k2y,
                                  x0, y0, ix, iy, nx, ny, cubic)
    if not ok:
        return LEFT_MAP, X, PX, Y, PY
    if not ok2:
        return TURNED_BACK, X, PX, Y, PY
    ok2, k3x, k3y, k3px, k3py = _rhs(PX + 0.5 * h * k2px, PY + 0.5 * h * k2py, P2, K, bx, by, bz)
    ok, bx, by, bz = _plane_field(planes, m + 2, X + h * k3x, Y + h * k3y,
                                  x0, y0, ix, iy, nx, ny, cubic)
    if not ok:
        return LEFT_MAP, X, PX, Y, PY
    if not ok2:
        return TURNED_BACK, X, PX, Y, PY
    ok2, k4x, k4y, k4px, k4py = _rhs(PX + h * k3px, PY + h * k3py, P2, K, bx, by, bz)
    if not ok2:
        return TURNED_BACK, X, PX, Y, PY
    h6 = h / 6.0
    Xe = X + h6 * (k1x + 2.0 * k2x + 2.0 * k3x + k4x)
    Ye = Y + h6 * (k1y + 2.0 * k2y + 2.0 * k3y + k4y)
    if not _inside(Xe, Ye, g):  # left during this step: lost here, at the step's start
        return LEFT_MAP, X, PX, Y, PY
    return (ALIVE, Xe, PX + h6 * (k1px + 2.0 * k2px + 2.0 * k3px + k4px),
            Ye, PY + h6 * (k1py + 2.0 * k2py + 2.0 * k3py + k4py))


@nb.njit(inline="always", cache=True, error_model="numpy", fastmath=_FASTMATH)
def _boris_step(planes, m, X, PX, Y, PY, P2, K, h, g):
    """One spatial Boris step (drift h/2, kick-rotate-kick with B at the midpoint plane m,
    drift h/2). Returns (code, X, PX, Y, PY); on a loss, the state at the step's start. A
    particle is lost in the step in which its midpoint or its end leaves the map (before,
    only the midpoint was tested, so a particle leaving in the second half-drift was reported
    one step late, at a start already outside the map)."""
    x0, y0, ix, iy, nx, ny, cubic = g
    hh = 0.5 * h
    pz2 = P2 - PX * PX - PY * PY
    if pz2 <= 0.0:
        return TURNED_BACK, X, PX, Y, PY
    ipz = 1.0 / math.sqrt(pz2)
    Xh = X + PX * ipz * hh
    Yh = Y + PY * ipz * hh
    ok, bx, by, bz = _plane_field(planes, m, Xh, Yh, x0, y0, ix, iy, nx, ny, cubic)
    if not ok:
        return LEFT_MAP, X, PX, Y, PY
    qx = PX - hh * K * by
    qy = PY + hh * K * bx
    pz2 = P2 - qx * qx - qy * qy
    if pz2 <= 0.0:
        return TURNED_BACK, X, PX, Y, PY
    t = hh * K * bz / math.sqrt(pz2)
    t2 = t * t
    sn = 2.0 * t / (1.0 + t2)
    cs = (1.0 - t2) / (1.0 + t2)
    rx = cs * qx + sn * qy
    ry = -sn * qx + cs * qy
    qx = rx - hh * K * by
    qy = ry + hh * K * bx
    pz2 = P2 - qx * qx - qy * qy
    if pz2 <= 0.0:
        return TURNED_BACK, X, PX, Y, PY
    ipz = 1.0 / math.sqrt(pz2)
    Xe = Xh + qx * ipz * hh
    Ye = Yh + qy * ipz * hh
    if not _inside(Xe, Ye, g):  # left in the second half-drift: lost in this step, as RK4
        return LEFT_MAP, X, PX, Y, PY
    return ALIVE, Xe, qx, Ye, qy


@nb.njit(inline="always", cache=True, error_model="numpy", fastmath=_FASTMATH)
def _step(rk4, planes, s, X, PX, Y, PY, P2, K, h, g):
    if rk4:
        return _rk4_step(planes, 2 * s, X, PX, Y, PY, P2, K, h, g)
    return _boris_step(planes, s, X, PX, Y, PY, P2, K, h, g)


@nb.njit(inline="always", cache=True, error_model="numpy", fastmath=_FASTMATH)
def _record(rec, rec_every, s, p, X, PX, Y, PY):
    if rec_every > 0 and (s + 1) % rec_every == 0:
        r = (s + 1) // rec_every - 1
        rec[r, 0, p] = X
        rec[r, 1, p] = PX
        rec[r, 2, p] = Y
        rec[r, 3, p] = PY


def _advance(rk4, x, px, y, py, delta, kq, code, zlost, planes, gp, nx, ny, cubic, z0, h,
             n_steps, rec, rec_every):
    """Carry every kept particle ``n_steps`` steps of length h from z0, RK4 (planes[m] at
    z0 + m h/2) or Boris (planes[m] at z0 + (m + 1/2) h). ``rec`` (n_rec, 4, N) receives
    the state after every ``rec_every`` steps (n_rec may be 0). A lost particle gets its
    code, ``zlost`` = z at the start of the step, and the state at that point.

    Particles go in pairs, stepped in lockstep: each particle's steps form one long chain
    of dependent operations (latency-bound), and two independent chains side by side keep
    the processor busy. The arithmetic of each particle is unchanged."""
    g = (gp[0], gp[1], gp[3], gp[4], nx, ny, cubic)
    n = x.size
    for p0 in range(0, n, 2):
        p1 = min(p0 + 1, n - 1)  # for odd n the last pair is one particle twice
        alive0 = code[p0] == ALIVE
        alive1 = p1 != p0 and code[p1] == ALIVE
        if not (alive0 or alive1):
            continue
        X0, PX0, Y0, PY0 = x[p0], px[p0], y[p0], py[p0]
        X1, PX1, Y1, PY1 = x[p1], px[p1], y[p1], py[p1]
        P20 = (1.0 + delta[p0]) ** 2
        P21 = (1.0 + delta[p1]) ** 2
        K0 = kq[p0]
        K1 = kq[p1]
        go0 = alive0
        go1 = alive1
        for s in range(n_steps):
            if go0:
                c, Xn, PXn, Yn, PYn = _step(rk4, planes, s, X0, PX0, Y0, PY0, P20, K0, h, g)
                if c != ALIVE:
                    code[p0] = c
                    zlost[p0] = z0 + s * h
                    go0 = False
                else:
                    X0, PX0, Y0, PY0 = Xn, PXn, Yn, PYn
                    _record(rec, rec_every, s, p0, X0, PX0, Y0, PY0)
            if go1:
                c, Xn, PXn, Yn, PYn = _step(rk4, planes, s, X1, PX1, Y1, PY1, P21, K1, h, g)
                if c != ALIVE:
                    code[p1] = c
                    zlost[p1] = z0 + s * h
                    go1 = False
                else:
                    X1, PX1, Y1, PY1 = Xn, PXn, Yn, PYn
                    _record(rec, rec_every, s, p1, X1, PX1, Y1, PY1)
            if not (go0 or go1):
                break
        if alive0:
            x[p0], px[p0], y[p0], py[p0] = X0, PX0, Y0, PY0
        if alive1:
            x[p1], px[p1], y[p1], py[p1] = X1, PX1, Y1, PY1


advance = nb.njit(cache=True, nogil=True, error_model="numpy", fastmath=_FASTMATH)(_advance)
