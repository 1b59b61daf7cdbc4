"""Tracking the same beam through a magnet at several excitation currents."""

from __future__ import annotations

import os
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np

from .. import _validate as v
from ..beam import beam_moments
from ..errors import InputError
from ._frames import ReferenceOrbit, from_map_frame, to_map_frame
from ._map import FieldMap
from ._track import track

__all__ = ["CurrentScan", "LinearExcitation", "scan_current"]


@dataclass
class LinearExcitation:
    """Field at any current from two maps, for a magnet whose iron does not saturate:
    ``B(I) = (I / I_nom) (B_nom - B_rem) + B_rem``.

    Attributes
    ----------
    nominal : FieldMap
        Map at the nominal current ``nominal.current_a``.
    remanent : FieldMap
        Map at zero current (the remanent field).
    """

    nominal: FieldMap
    remanent: FieldMap

    def __call__(self, current_a):
        i_nom = self.nominal.current_a
        if not i_nom:
            raise InputError("nominal.current_a", i_nom, "the nominal map needs its current_a (non-zero)",
                             "build the nominal map with current_a=...")
        current_a = v.scalar("current_a", current_a, unit="A")
        f = current_a / i_nom
        return (self.nominal.scaled(f) + self.remanent.scaled(1.0 - f)).scaled(
            1.0, current_a=current_a)


@dataclass
class CurrentScan:
    """Results of :func:`scan_current`.

    Attributes
    ----------
    currents_a : numpy.ndarray
    results : list of TrackResult
        One per current; coordinates in the curvilinear frame at the exit of the
        reference orbit when a reference was given, else in the map frame at ``z_end``.
    """

    currents_a: np.ndarray
    results: list

    def table(self):
        """A :class:`pandas.DataFrame`, one row per current: exit mean, rms size,
        statistical Twiss, fitted dispersion, losses.

        ``sigma_x_m, eps_x_m, beta_x_m, alpha_x`` and ``corr_x_px`` are the *total*
        moments of the distribution, dispersion included (``alpha_x`` is the tilt of the
        whole cloud). ``eps_betatron_x_m, beta_betatron_x_m, alpha_betatron_x`` and
        ``sigma_betatron_x_m`` are those of ``x - D delta``, ``px - D' delta`` (the
        correlation with delta removed): the ellipse that a lattice's Twiss functions
        describe. See :func:`beamkit.beam.moments`."""
        import pandas as pd

        rows = []
        for cur, r in zip(self.currents_a, self.results):
            keep = ~r.lost
            mx = beam_moments(r.x[keep], r.px[keep], r.delta[keep])
            my = beam_moments(r.y[keep], r.py[keep])
            rows.append({
                "current_a": cur,
                "mean_x_m": mx["mean_x_m"], "sigma_x_m": mx["sigma_x_m"],
                "mean_px": mx["mean_px"], "sigma_px": mx["sigma_px"],
                "alpha_x": mx["alpha"], "beta_x_m": mx["beta_m"], "eps_x_m": mx["eps_m"],
                "corr_x_px": mx["corr"], "dispersion_x_m": mx.get("dx_m", np.nan),
                "dispersion_prime_x": mx.get("dpx", np.nan),
                "eps_betatron_x_m": mx.get("eps_betatron_m", np.nan),
                "beta_betatron_x_m": mx.get("beta_betatron_m", np.nan),
                "alpha_betatron_x": mx.get("alpha_betatron", np.nan),
                "sigma_betatron_x_m": mx.get("sigma_betatron_m", np.nan),
                "sigma_y_m": my["sigma_x_m"], "alpha_y": my["alpha"],
                "n_lost": r.n_lost,
            })
        return pd.DataFrame(rows).set_index("current_a")


def _scan_point(current_a, fieldmap_at_current, coords, reference_planes, z_start, z_end,
                n_steps, method, interpolation, p0c, q0, numba_threads):
    if numba_threads:
        import numba

        numba.set_num_threads(max(1, min(numba_threads, numba.config.NUMBA_NUM_THREADS)))
    fm = fieldmap_at_current(current_a)
    if reference_planes is not None:
        entry, exit_ = reference_planes
        coords = to_map_frame(coords, entry)
    r = track(fm, coords, z_start, z_end, n_steps, method, interpolation=interpolation,
              p0c=p0c, q0=q0, progress=False)
    if reference_planes is not None:
        alive = ~r.lost
        out = from_map_frame({k: getattr(r, k) for k in ("x", "px", "y", "py", "delta")},
                             exit_)
        for k in ("x", "px", "y", "py"):
            v = getattr(r, k)
            v[alive] = out[k][alive]
    return r


def scan_current(currents, fieldmap_at_current, particles, *, reference: ReferenceOrbit | None = None,
                 z_start=None, z_end=None, n_steps, method="rk4", interpolation="tricubic",
                 p0c=None, q0=None, executor: Executor | None = None, max_workers=None,
                 progress=True):
    """Track the same particles through the magnet at each excitation current.

    Parameters
    ----------
    currents : sequence of float
        Currents in A.
    fieldmap_at_current : callable
        ``fieldmap_at_current(current_a) -> FieldMap``, e.g. a :class:`LinearExcitation`
        or ``functools.partial(synthetic_combined_function_magnet, ...)``. It is sent to
        the workers, so it must be picklable (no lambdas or notebook-local functions with
        a process pool).
    particles : mapping
        Arrays ``x, px, y, py, delta``: in the curvilinear frame at the entry of
        ``reference`` if given, else in the map frame at ``z_start``. The same particles
        (e.g. one seeded :func:`beamkit.beam.matched_gaussian`) go through every current.
    reference : ReferenceOrbit, optional
        The nominal reference orbit: its planes define z_start, z_end and the frames.
    z_start, z_end : float, optional
        Required without ``reference``.
    n_steps : int
        Integration steps per pass.
    method, interpolation : str
        As in :func:`track`.
    p0c, q0 : float, optional
        Reference momentum (eV) and charge; default those of ``reference``.
    executor : concurrent.futures.Executor, optional
        Where the scan points run. Default: a local process pool (``spawn`` start
        method; each worker uses ``cpu_count // workers`` numba threads). Pass
        ``dask.distributed.Client(...).get_executor()`` to spread a scan over a cluster,
        or a ``ThreadPoolExecutor``.
    max_workers : int, optional
        Size of the default process pool (default: min(number of currents, CPUs)).
    progress : bool
        Progress bar over scan points.

    Returns
    -------
    CurrentScan

    Raises
    ------
    beamkit.InputError
        For no currents (or NaN ones), a ``fieldmap_at_current`` that is not callable,
        missing ``z_start``/``z_end``/``p0c``/``q0`` without a reference, a bad ``n_steps``,
        ``method`` or ``interpolation``, or particles that are not a mapping of equal-length
        arrays; all checked before any work is sent to the executor.
    """
    from tqdm import tqdm

    currents = np.atleast_1d(v.array("currents", currents, ndim=(0, 1), unit="A",
                                     fix="give at least one current in A"))
    if currents.size == 0:
        raise InputError("currents", currents, "is empty", "give at least one current in A")
    if not callable(fieldmap_at_current):
        raise InputError("fieldmap_at_current", fieldmap_at_current, "is not callable",
                         "give a function current_a -> FieldMap, e.g. a LinearExcitation")
    n_steps = v.integer("n_steps", n_steps, minimum=1)
    v.choice("method", method, ("rk4", "boris"))
    v.choice("interpolation", interpolation, ("tricubic", "trilinear"))
    if max_workers is not None:
        max_workers = v.integer("max_workers", max_workers, minimum=1)
    if reference is not None:
        z_start = reference.entry.z_m if z_start is None else z_start
        z_end = reference.exit.z_m if z_end is None else z_end
        p0c = reference.p0c_ev if p0c is None else p0c
        q0 = reference.q0 if q0 is None else q0
        planes = (reference.entry, reference.exit)
    else:
        planes = None
        if z_start is None or z_end is None:
            raise InputError("z_start" if z_start is None else "z_end", None, "is required without a "
                             "reference orbit", "give z_start and z_end, or a reference orbit")
    if p0c is None or q0 is None:
        raise InputError("p0c" if p0c is None else "q0", None, "is required without a reference orbit",
                         "give p0c and q0, or a reference orbit")
    z_start = v.scalar("z_start", z_start, unit="m")
    z_end = v.scalar("z_end", z_end, unit="m")
    p0c = v.scalar("p0c", p0c, positive=True, unit="eV")
    q0 = v.scalar("q0", q0)
    if q0 == 0:
        raise InputError("q0", q0, "a neutral particle is not deflected by the field",
                         "track charged particles only")
    if not hasattr(particles, "keys"):
        raise InputError("particles", type(particles).__name__, "is not a mapping",
                         "give a dict of arrays x, px, y, py (and delta)")
    missing = [k for k in ("x", "px", "y", "py") if k not in particles]
    if missing:
        raise InputError("particles", sorted(particles), f"lacks {missing}",
                         "give arrays x, px, y, py (and optionally delta)")
    coords = {k: v.array(f"particles[{k!r}]", particles[k], ndim=1, allow_nan=True)
              for k in ("x", "px", "y", "py")}
    coords["delta"] = v.array("particles['delta']", particles.get("delta", np.zeros_like(coords["x"])),
                              ndim=1, allow_nan=True)
    v.same_shape(**{f"particles[{k!r}]": a for k, a in coords.items()})

    own = executor is None
    threads = 0
    if own:
        import multiprocessing

        workers = max_workers or min(len(currents), os.cpu_count() or 1)
        threads = max(1, (os.cpu_count() or 1) // workers)
        executor = ProcessPoolExecutor(max_workers=workers,
                                       mp_context=multiprocessing.get_context("spawn"))
    try:
        futures = [
            executor.submit(_scan_point, float(cur), fieldmap_at_current, coords, planes,
                            z_start, z_end, n_steps, method, interpolation, p0c, q0, threads)
            for cur in currents
        ]
        results = []
        for f in tqdm(futures, disable=not progress, desc="current scan", unit="point"):
            results.append(f.result())
    finally:
        if own:
            executor.shutdown()
    return CurrentScan(currents_a=currents, results=results)
