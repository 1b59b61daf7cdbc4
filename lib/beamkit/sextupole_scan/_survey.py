"""Calibration and alignment of every sextupole of a ring, serially or on an executor."""

from __future__ import annotations

import concurrent.futures
import warnings
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from .. import _validate as v
from ..errors import BeamkitWarning, InputError
from ._calibrate import calibrate
from ._reconstruct import _pooled, reconstruct
from ._ring import _check_ring
from ._scan import simulate_scan


@dataclass(frozen=True)
class SurveyResult:
    """Calibration and alignment of every sextupole of a ring (see :func:`survey`).

    Attributes
    ----------
    calibration, calibration_err, calibration_true : numpy.ndarray
        Measured calibration factors, their uncertainties and the truth.
    x_offset_m, x_offset_err_m, x_offset_true_m : numpy.ndarray
        Horizontal misalignment X_sext - X0 measured, its uncertainty and the truth (m).
    y_offset_m, y_offset_err_m, y_offset_true_m : numpy.ndarray
        Vertical misalignment (m).
    """

    calibration: np.ndarray
    calibration_err: np.ndarray
    calibration_true: np.ndarray
    x_offset_m: np.ndarray
    x_offset_err_m: np.ndarray
    x_offset_true_m: np.ndarray
    y_offset_m: np.ndarray
    y_offset_err_m: np.ndarray
    y_offset_true_m: np.ndarray

    def pulls(self):
        """(measured - true) / uncertainty for calibration, x offset, y offset."""
        return pd.DataFrame({
            "calibration": (self.calibration - self.calibration_true) / self.calibration_err,
            "x_offset": (self.x_offset_m - self.x_offset_true_m) / self.x_offset_err_m,
            "y_offset": (self.y_offset_m - self.y_offset_true_m) / self.y_offset_err_m})

    def to_frame(self):
        """One row per sextupole: measured, uncertainty and true values."""
        return pd.DataFrame({k: getattr(self, k) for k in self.__dataclass_fields__})


def _survey_one(ring, index, dk2l, n_repeats, noise, seed, calibration_dk2l):
    """Calibrate and align one sextupole (module-level so that process pools can run it)."""
    rng = np.random.default_rng(seed)
    cal = calibrate(ring, index, dk2l=calibration_dk2l, noise=noise, rng=rng)
    scan = simulate_scan(ring, index, dk2l, n_repeats=n_repeats, noise=noise, rng=rng)
    # the analysis only knows the set strengths: scale them by the measured calibration
    dk2l_meas = np.tile(dk2l, n_repeats) * cal.factor
    _, dk1l, da1, dpx, dx, dy = _pooled(scan)
    with warnings.catch_warnings():
        # the survey uses X0 and Y0 only; a beam of negligible size gives sigma_x^2 ~ 0 +- noise
        warnings.filterwarnings("ignore", message="reconstructed sigma_x", category=BeamkitWarning)
        rec = reconstruct(dk2l_meas, dk1l, da1, dpx, dx, dy, k2l0=ring.k2l[index] * cal.factor, degree=3)
    # X_sext: the BPM reading at the sextupole before the scan (one reading per repeat)
    sig_x = noise.get("orbit_m", 0.0)
    reads = scan.x_sext_m + sig_x * rng.standard_normal(n_repeats)
    reads_y = scan.y_sext_m + sig_x * rng.standard_normal(n_repeats)
    err_read = sig_x / np.sqrt(n_repeats)
    # X0 scales as 1/c: its error includes the calibration error
    x0_err = np.hypot(rec.x0_err_m, rec.x0_m * cal.factor_err / cal.factor)
    y0_err = np.hypot(rec.y0_err_m, rec.y0_m * cal.factor_err / cal.factor)
    return (cal.factor, cal.factor_err, reads.mean() - rec.x0_m, np.hypot(x0_err, err_read),
            reads_y.mean() - rec.y0_m, np.hypot(y0_err, err_read))


def survey(ring, dk2l=None, n_repeats=3, noise=None, seed=0, executor=None, calibration_dk2l=2.0):
    """Calibrate and align every sextupole of ``ring`` from simulated noisy scans.

    For each sextupole: a closed-bump calibration (:func:`calibrate`), then a K2 scan
    (:func:`simulate_scan`) analysed with the measured calibration (:func:`reconstruct`);
    the misalignment is X_sext - X0 with X_sext the orbit reading at the sextupole
    :cite:p:`crittenden2025cesr`.

    Parameters
    ----------
    ring : Ring
        Its ``calibration``, ``shift_x_m``, ``shift_y_m`` are the (hidden) truth.
    dk2l : array_like, optional
        Set strength changes of the scans (1/m^2); default eleven from -10 to 10.
    n_repeats : int
        Repeated measurements per setting.
    noise : dict, optional
        As in :func:`simulate_scan`.
    seed : int
        Seed; sextupole i uses ``seed + i`` so that results do not depend on the executor.
    executor : concurrent.futures.Executor, optional
        Where to run the sextupoles (default: serially in this process).
    calibration_dk2l : float
        Set strength change of the closed-bump calibration (1/m^2); small, because the
        first-order tune formula errs at third order in the quadrupole term.

    Returns
    -------
    SurveyResult
    """
    _check_ring(ring)
    dk2l = np.linspace(-10.0, 10.0, 11) if dk2l is None else v.array("dk2l", dk2l, ndim=1, min_size=4)
    n_repeats = v.integer("n_repeats", n_repeats, minimum=1)
    seed = v.integer("seed", seed, minimum=0)
    noise = dict(noise or {})
    if executor is not None and not isinstance(executor, concurrent.futures.Executor):
        raise InputError("executor", executor, "must be a concurrent.futures.Executor",
                         "pass e.g. ProcessPoolExecutor(2), or None to run serially")
    calibration_dk2l = v.scalar("calibration_dk2l", calibration_dk2l, positive=True, unit="1/m^2")
    args = [(replace(ring, _cache={}), i, dk2l, n_repeats, noise, seed + i, calibration_dk2l)
            for i in range(ring.n_sextupoles)]
    if executor is None:
        rows = [_survey_one(*a) for a in args]
    else:
        rows = list(executor.map(_survey_one, *zip(*args)))
    rows = np.array(rows)
    return SurveyResult(calibration=rows[:, 0], calibration_err=rows[:, 1],
                        calibration_true=ring.calibration.copy(), x_offset_m=rows[:, 2],
                        x_offset_err_m=rows[:, 3], x_offset_true_m=ring.shift_x_m.copy(),
                        y_offset_m=rows[:, 4], y_offset_err_m=rows[:, 5],
                        y_offset_true_m=ring.shift_y_m.copy())
