"""Chromaticity: thin-lens formulas, measurement by tracking, correction with sextupoles.

* :func:`fodo_thin_lens_chromaticity`: natural chromaticity of a thin-lens FODO cell,
  ``Q' = -tan(mu/2)/pi`` with ``mu = 2 pi Q`` :cite:p:`oeftiger2026lecture6`;
* :func:`sextupole_thin_lens_response`: the change of ``(Q'_x, Q'_y)`` per unit ``k2`` of
  thin sextupoles, ``dQ'_x = +beta_x D k2 l/(4 pi)``, ``dQ'_y = -beta_y D k2 l/(4 pi)``
  :cite:p:`wille2000,lee2019`, and :func:`sextupole_optics` that feeds it;
* :func:`chromaticity_response`: the same matrix by finite differences of xtrack's twiss;
* :func:`chromaticity_from_tracking` and :func:`fit_chromaticity`: ``Q'`` from the tunes
  of tracked off-momentum particles, as a :class:`ChromaticityFit`;
* :func:`match_chromaticity`: sextupole strengths that reach target chromaticities, in
  MAD-X (plain ``match``, the analytic chromaticity) or xtrack.

Chromaticity here is always ``dQ/d delta`` (beamkit's convention); MAD-X's values with
respect to ``p_t`` are converted with ``beta0``.

Length: a little over 400 lines because the formulas, the response, the measurement and
the matching share their helpers (the matcher's Jacobian is :func:`chromaticity_response`)
and the two chapters use them together; each function body stays short.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import _validate as v
from .errors import ConvergenceError, IllConditionedError, InputError, MadxError

__all__ = [
    "ChromaticityFit",
    "chromaticity_from_tracking",
    "chromaticity_response",
    "fit_chromaticity",
    "fodo_thin_lens_chromaticity",
    "match_chromaticity",
    "sextupole_optics",
    "sextupole_thin_lens_response",
]


# ---------------------------------------------------------------- thin-lens formulas
def fodo_thin_lens_chromaticity(q):
    """Natural chromaticity ``Q' = -tan(pi Q)/pi`` of a thin-lens FODO cell (1).

    For a symmetric FODO cell of thin quadrupoles with phase advance ``mu = 2 pi Q`` per
    cell, ``Q' = -tan(mu/2)/pi`` :cite:p:`oeftiger2026lecture6`. Thick quadrupoles and
    bends change it slightly; the chromaticity chapter shows by how much.

    Parameters
    ----------
    q : float or array_like
        Cell tune (phase advance over 2 pi), in (0, 0.5) for a stable FODO cell.
    """
    scalar_in = np.ndim(q) == 0
    q = v.array("q", q, greater_than=0.0, maximum=0.5,
                fix="give the cell tune (phase advance / 2 pi) of a stable FODO cell")
    if np.any(q >= 0.5):
        raise InputError("q", q, "must be < 0.5 (a FODO cell is unstable at mu = pi)",
                         "give the cell tune of a stable FODO cell")
    out = -np.tan(np.pi * q) / np.pi
    return float(out) if scalar_in else out


def sextupole_thin_lens_response(beta_x_m, beta_y_m, dispersion_x_m, length_m):
    """Matrix ``d(Q'_x, Q'_y)/d k2`` of thin sextupoles (m^3), shape (2, n_sextupoles).

    A sextupole of strength ``k2`` and length ``l`` at dispersion ``D`` acts on an
    off-momentum particle as a quadrupole of ``k1 l = k2 l D delta``, so
    ``dQ'_x = +beta_x D k2 l/(4 pi)`` and ``dQ'_y = -beta_y D k2 l/(4 pi)``
    :cite:p:`wille2000,lee2019`. Solving ``R k2 = target - Q'_natural`` gives the thin-lens
    estimate of the strengths.

    Parameters
    ----------
    beta_x_m, beta_y_m, dispersion_x_m : array_like, shape (n_sextupoles,)
        Optics at the sextupole centres (m).
    length_m : float or array_like
        Sextupole lengths (m).
    """
    beta_x_m = v.array("beta_x_m", beta_x_m, ndim=1, min_size=1, positive=True, unit="m")
    beta_y_m = v.array("beta_y_m", beta_y_m, ndim=1, positive=True, unit="m")
    dispersion_x_m = v.array("dispersion_x_m", dispersion_x_m, ndim=1, unit="m")
    v.same_shape(beta_x_m=beta_x_m, beta_y_m=beta_y_m, dispersion_x_m=dispersion_x_m)
    length_m = np.broadcast_to(v.array("length_m", length_m, positive=True, unit="m"), beta_x_m.shape)
    return np.array([beta_x_m * dispersion_x_m * length_m,
                     -beta_y_m * dispersion_x_m * length_m]) / (4 * np.pi)


def sextupole_optics(line, names):
    """Optics at the centres of thick elements of an xtrack line, from its 4D twiss.

    The value at the centre is the average of the element's entrance and exit (exact
    for the dispersion in a field-free sextupole to first order in its length; beta
    varies by a few percent over a 1 m sextupole of the LHC cell).

    Parameters
    ----------
    line : xtrack.Line
    names : sequence of str
        Element names, e.g. ``("sext1", "sext2")``.

    Returns
    -------
    pandas.DataFrame
        Index: the names; columns ``beta_x_m``, ``beta_y_m``, ``dispersion_x_m`` (m) and
        ``length_m`` (m).
    """
    _check_line(line)
    names = [names] if isinstance(names, str) else list(names)
    known = list(line.element_names)
    missing = [n for n in names if n not in known]
    if missing:
        raise InputError("names", missing, "are not elements of the line",
                         f"choose among {known[:12]}{' ...' if len(known) > 12 else ''}")
    tw = line.twiss(method="4d")
    tw_names = list(tw.name)
    rows = {}
    for name in names:
        after = tw_names[tw_names.index(name) + 1]
        rows[name] = {
            "beta_x_m": 0.5 * (tw["betx", name] + tw["betx", after]),
            "beta_y_m": 0.5 * (tw["bety", name] + tw["bety", after]),
            "dispersion_x_m": 0.5 * (tw["dx", name] + tw["dx", after]),
            "length_m": float(line[name].length),
        }
    return pd.DataFrame(rows).T


def chromaticity_response(line, knobs, step=1e-3):
    """``d(Q'_x, Q'_y)/d knob`` by finite differences of xtrack's 4D twiss, shape (2, n_knobs).

    Chromaticity is linear in sextupole strengths at fixed linear optics, so a forward
    difference is exact up to the error of each ``Q'`` divided by ``step``. Each ``Q'`` is
    fitted to xtrack's twiss tunes at nine momentum deviations (as in
    :func:`match_chromaticity`), not read from xtrack's ``dqx``, a central difference that
    is off by a few 1e-7 with sextupoles; the fitted value keeps the ~1e-8 that xtrack's
    off-momentum twiss of a bent cell leaves in ``Q'_x`` (the sextupoles chapter). The
    knobs are put back afterwards as they were: their values, and the expressions of knobs
    defined by one (``line.vars['k2s'] = line.vars['a'] * 2``).

    Parameters
    ----------
    line : xtrack.Line
        With the knobs in ``line.vars``.
    knobs : sequence of str
        Knob names (for sextupoles, ``k2`` in m^-3).
    step : float
        Knob step (knob units; m^-3 for ``k2``).
    """
    _check_line(line)
    knobs = _check_knobs(line.vars, knobs, "xtrack line")
    step = v.scalar("step", step, positive=True)
    return _response(line, knobs, ("x", "y"), step)


def _response(line, knobs, planes, step, base=None):
    base = _xtrack_chroma(line, planes) if base is None else base
    jac = np.empty((len(planes), len(knobs)))
    for j, k in enumerate(knobs):
        saved = _save_knobs(line, [k], is_madx=False)
        try:
            line.vars[k] = saved[k][0] + step
            jac[:, j] = (_xtrack_chroma(line, planes) - base) / step
        finally:
            _restore_knobs(line, saved, is_madx=False)
    return jac


#: Momentum deviations of the twiss tunes fitted for xtrack's chromaticity in matching.
_CHROMA_DELTAS = np.linspace(-1e-3, 1e-3, 9)


def _xtrack_chroma(line, planes):
    """Q' of ``planes`` from an order-4 fit of xtrack's 4D twiss tunes at 9 deltas in +-1e-3.

    xtrack's own ``dqx`` is a finite difference with step ``delta_chrom = 5e-5`` whose
    noise is ~3e-7 with sextupoles (issue 9, point 1). The fit on the scaled abscissa
    leaves the fifth-order term, Q^(5)/120 delta^4 < 1e-12, and tune rounding / 1e-3.
    """
    q = np.array([[tw.qx, tw.qy] for tw in (line.twiss(method="4d", delta0=float(d))
                                          for d in _CHROMA_DELTAS)])
    u = _CHROMA_DELTAS / _CHROMA_DELTAS.max()
    out = []
    for p in planes:
        coef = np.polynomial.polynomial.polyfit(u, q[:, 0 if p == "x" else 1], 4)
        out.append(coef[1] / _CHROMA_DELTAS.max())
    return np.array(out)


# ---------------------------------------------------------------- measurement
@dataclass(frozen=True, eq=False)
class ChromaticityFit:
    """A polynomial fit of tune against momentum deviation (from :func:`fit_chromaticity`).

    Attributes
    ----------
    plane : str
        ``"x"`` or ``"y"``.
    order : int
        Polynomial order of the fit.
    deltas, tunes : numpy.ndarray
        Momentum deviations (1) of the particles and their tunes (1).
    coefficients, covariance : numpy.ndarray
        Polynomial coefficients (lowest order first) and their covariance.
    q_at_zero : float
        Fitted tune at delta = 0 (1).
    dq : float
        Chromaticity dQ/d delta (1), the linear coefficient.
    dq_error : float
        One-sigma uncertainty of ``dq`` from the fit residuals (least-squares
        covariance): it measures the misfit of the polynomial, not the accuracy.
    residual_rms : float
        RMS of the fit residuals (1).
    """

    plane: str
    order: int
    deltas: np.ndarray
    tunes: np.ndarray
    coefficients: np.ndarray
    covariance: np.ndarray
    q_at_zero: float
    dq: float
    dq_error: float
    residual_rms: float

    def tune_at(self, delta, rtol=0.0, atol=1e-12):
        """Tune of the tracked particle whose delta equals ``delta`` (selected by value)."""
        delta = v.scalar("delta", delta)
        hits = np.flatnonzero(np.isclose(self.deltas, delta, rtol=rtol, atol=atol))
        if hits.size != 1:
            raise InputError("delta", delta, f"{hits.size} particles have delta = {delta!r}",
                             f"tracked deltas are {np.array2string(self.deltas, precision=3)}")
        return float(self.tunes[hits[0]])

    def to_frame(self):
        """Table of ``delta``, ``tune`` and the fit's ``residual``, one row per particle."""
        model = np.polynomial.polynomial.polyval(self.deltas, self.coefficients)
        return pd.DataFrame({"delta": self.deltas, "tune": self.tunes, "residual": self.tunes - model})

    def __repr__(self):
        return (f"ChromaticityFit({self.plane}: Q' = {self.dq:.6g} +- {self.dq_error:.2g}, "
                f"Q(0) = {self.q_at_zero:.10g}, {self.deltas.size} particles)")


def fit_chromaticity(deltas, tunes, order=1, plane="x"):
    """Least-squares polynomial fit of ``tunes`` against ``deltas``: a :class:`ChromaticityFit`.

    Parameters
    ----------
    deltas, tunes : array_like, shape (n_particles,)
        Momentum deviations (1) and tunes (1).
    order : int
        Polynomial order, at least 1; ``order + 2`` particles are needed for an error.
    plane : {"x", "y"}
        Label of the plane the tunes belong to.
    """
    plane = v.choice("plane", plane, ("x", "y"))
    order = v.integer("order", order, minimum=1)
    deltas = v.array("deltas", deltas, ndim=1)
    tunes = v.array("tunes", tunes, ndim=1)
    v.same_shape(deltas=deltas, tunes=tunes)
    n = deltas.size
    if n < order + 2:
        raise InputError("deltas", deltas, f"a fit of order {order} with an uncertainty needs at least "
                         f"{order + 2} particles, got {n}", "track more momentum deviations")
    # Fit on u = delta / max|delta| (an unscaled Vandermonde matrix has cond > 1e12 already
    # for order 4 over +-1e-3), then rescale coefficients and covariance back to delta.
    scale = float(np.max(np.abs(deltas)))
    if scale == 0.0:
        raise IllConditionedError("deltas", deltas, "ill-conditioned chromaticity fit: all deltas are 0",
                                  "spread them over a range", condition_number=np.inf)
    design = np.vander(deltas / scale, order + 1, increasing=True)
    cond = np.linalg.cond(design)
    if cond > 1e12:
        raise IllConditionedError("deltas", deltas, "ill-conditioned chromaticity fit: the deltas are "
                                  "(nearly) all the same", "spread them over a range",
                                  condition_number=cond)
    coef_u, *_ = np.linalg.lstsq(design, tunes, rcond=None)
    resid = tunes - design @ coef_u
    sigma2 = float(resid @ resid) / (n - (order + 1))
    to_delta = scale ** -np.arange(order + 1.0)
    coef = coef_u * to_delta
    covariance = sigma2 * np.linalg.inv(design.T @ design) * np.outer(to_delta, to_delta)
    return ChromaticityFit(plane=plane, order=order, deltas=deltas, tunes=tunes, coefficients=coef,
                           covariance=covariance, q_at_zero=float(coef[0]), dq=float(coef[1]),
                           dq_error=float(np.sqrt(covariance[1, 1])), residual_rms=float(np.sqrt(sigma2)))


def chromaticity_from_tracking(line, deltas, *, n_turns=1024, plane="x", amplitude_m=1e-4,
                               order=1):
    """Chromaticity from tracking: tunes of particles at several delta, and a fit.

    Each particle starts at ``amplitude_m`` in ``plane`` on its own off-momentum
    closed orbit (from the line's 4D twiss at that delta), so that its motion is pure
    betatron oscillation about ``D delta``. The tunes come from
    :func:`beamkit.tune.tunes` on the complex normalised signal with the on-momentum
    Twiss functions at the start, after removing each particle's mean (its closed orbit).

    Parameters
    ----------
    line : xtrack.Line
    deltas : array_like
        Momentum deviations (1), e.g. ``np.linspace(-1e-3, 1e-3, 21)``.
    n_turns : int
        Turns tracked (one turn = one pass through the line).
    plane : {"x", "y"}
    amplitude_m : float
        Initial betatron offset (m).
    order : int
        Polynomial order of the fit of Q(delta): 1 for Q', 2 to also get Q''/2.

    Returns
    -------
    ChromaticityFit
    """
    from .tracking import track_turns
    from .tune import tunes

    _check_line(line)
    plane = v.choice("plane", plane, ("x", "y"))
    deltas = v.array("deltas", deltas, ndim=1, min_size=1, greater_than=-1.0)
    n_turns = v.integer("n_turns", n_turns, minimum=16)
    amplitude_m = v.scalar("amplitude_m", amplitude_m, positive=True, unit="m")
    order = v.integer("order", order, minimum=1)
    tw = line.twiss(method="4d")
    x0 = np.zeros_like(deltas)
    px0 = np.zeros_like(deltas)
    for i, d in enumerate(deltas):
        if d != 0:
            # 4D twiss at delta0 (frozen-longitudinal closed-orbit searches would need a
            # kernel that xsuite does not prebuild).
            co = line.twiss(method="4d", delta0=float(d), only_orbit=True)
            x0[i], px0[i] = co.x[0], co.px[0]
    offset = {"x": amplitude_m, "y": 0.0}
    offset_y = {"x": 0.0, "y": amplitude_m}
    tbt = track_turns(line, n_turns, x=x0 + offset[plane], px=px0, y=offset_y[plane],
                      delta=deltas)
    if tbt.lost.any():
        raise InputError("amplitude_m", amplitude_m, f"{int(tbt.lost.sum())} particles were lost",
                         "reduce the amplitude or the momentum range")
    if plane == "x":
        q = tunes(tbt.x, tbt.px, tw.betx[0], tw.alfx[0])
    else:
        q = tunes(tbt.y, tbt.py, tw.bety[0], tw.alfy[0])
    return fit_chromaticity(deltas, q, order, plane)


# ---------------------------------------------------------------- matching
def _check_line(line):
    if not (hasattr(line, "vars") and hasattr(line, "twiss") and hasattr(line, "element_names")):
        raise InputError("line", line, "must be an xtrack.Line", "e.g. lattice.to_xtrack()")


def _check_knobs(known, knobs, where):
    knobs = [knobs] if isinstance(knobs, str) else list(knobs)
    if not knobs:
        raise InputError("knobs", knobs, "is empty", "name at least one variable to vary")
    missing = [k for k in knobs if k not in known]
    if missing:
        raise InputError("knobs", missing, f"are not variables of the {where}",
                         "define them (e.g. lattices.lhc_fodo_cell(sextupoles=True)) or fix the names")
    return knobs


def match_chromaticity(engine, dq_x=None, dq_y=None, knobs=("k2sext1", "k2sext2"), *,
                       sequence=None, tolerance=1e-6, step=1e-4):
    """Set sextupole knobs so that the chromaticities reach targets.

    Parameters
    ----------
    engine : beamkit.madx.MadxSession or xtrack.Line
        MAD-X session with the sequence in use, or an xtrack line with the knobs in
        ``line.vars``. Its knobs are changed (that is the point): a matched knob holds a
        value afterwards, even if it was defined by an expression. A failed match puts
        every knob back as it was, value or expression (MAD-X ``k2s := a*b``, xtrack
        ``line.vars['k2s'] = line.vars['a'] * 2``).
    dq_x, dq_y : float or None
        Targets for dQ/d delta (1; beamkit's convention, for either engine; the MAD-X
        targets are converted to its ``pt`` convention with ``beta0``). ``None`` leaves
        a plane free: with a single knob only one plane can be matched.
    knobs : sequence of str
        Variables to vary (strengths ``k2`` of sextupole families, in m^-3).
    sequence : str, optional
        MAD-X sequence (default: the one in use).
    tolerance : float
        Accepted error on each chromaticity. In xtrack Q' comes from an order-4 fit of
        twiss tunes at 9 deltas in +-1e-3 (good to ~1e-9); in MAD-X from plain ``twiss``.
    step : float
        Step of the knobs for the numerical derivatives (m^-3).

    Returns
    -------
    dict
        Knob name to its matched value (m^-3).

    Raises
    ------
    beamkit.InputError
        When no target is given, more targets than knobs, or a knob is not a variable of
        the session or line.
    beamkit.ConvergenceError
        When the match does not reach the tolerance, or MAD-X's twiss fails inside the
        match (the varied knobs made the lattice unstable).
    beamkit.UnstableLatticeError
        When the lattice has no periodic solution before the match (MAD-X: "TWISS failed";
        the error gives the trace of MAD-X's one-turn matrix).
    beamkit.MadxError
        When MAD-X fails otherwise.

    Notes
    -----
    MAD-X uses ``match; global, dq1=..., dq2=...`` (plain twiss, the analytic
    chromaticity, as in :cite:p:`oeftiger2026lecture6`): a ``constraint`` on ``dq1``
    runs without complaint and changes nothing (physics notes). ``match, chrom`` would
    match a one-sided finite difference in ``deltap = 1e-6``, off by ``(Q''/2) 1e-6``.
    """
    from .madx import MadxSession

    targets = {"x": v.scalar("dq_x", dq_x, allow_none=True), "y": v.scalar("dq_y", dq_y, allow_none=True)}
    active = {plane: value for plane, value in targets.items() if value is not None}
    tolerance = v.scalar("tolerance", tolerance, positive=True)
    step = v.scalar("step", step, positive=True)
    if not active:
        raise InputError("dq_x", None, "give at least one target, dq_x or dq_y")
    knobs = [knobs] if isinstance(knobs, str) else list(knobs)
    if len(active) > len(knobs):
        raise InputError("knobs", knobs, f"{len(active)} targets need at least as many knobs",
                         "add a sextupole family or leave a plane free (None)")
    is_madx = isinstance(engine, MadxSession)
    if not is_madx and not hasattr(engine, "vars"):
        raise InputError("engine", engine, "must be a beamkit.madx.MadxSession or an xtrack.Line")
    if sequence is not None and not (isinstance(sequence, str) and sequence.isidentifier()):
        raise InputError("sequence", sequence, "must be a MAD-X sequence name")
    knobs = _check_knobs(engine.madx.globals if is_madx else engine.vars, knobs,
                         "MAD-X session" if is_madx else "xtrack line")
    saved = _save_knobs(engine, knobs, is_madx)
    try:
        if is_madx:
            values, achieved = _match_madx(engine, active, knobs, sequence, tolerance, step)
        else:
            values, achieved = _match_xtrack(engine, active, knobs, tolerance, step)
        misses = {p: achieved[p] - val for p, val in active.items()
                  if not abs(achieved[p] - val) <= tolerance}
        if misses:
            raise ConvergenceError("chromaticity match", residual=max(abs(m) for m in misses.values()),
                                   fix=f"errors {misses} exceed the tolerance {tolerance}; the knobs "
                                   f"are put back to {_show_saved(saved)}; check that they act on the "
                                   "chromaticity")
    except BaseException:
        # A failed match (or an interrupt) leaves the caller's knobs as they were.
        _restore_knobs(engine, saved, is_madx)
        raise
    return values


def _save_knobs(engine, knobs, is_madx):
    """Each knob's ``(value, expression)``; the expression is None unless the knob is deferred.

    A knob defined by an expression (MAD-X ``k2s := a*b``, xtrack
    ``line.vars['k2s'] = line.vars['a'] * 2``) must get its expression back, not just the
    value it had: otherwise it would stop following ``a``.
    """
    if is_madx:
        cmdpar = engine.madx.globals.cmdpar
        return {k: (float(engine.madx.globals[k]), cmdpar[k].expr or None) for k in knobs}
    return {k: (float(engine.vars[k]._value), engine.vars[k]._expr) for k in knobs}


def _show_saved(saved):
    return {k: (expr if expr is not None else value) for k, (value, expr) in saved.items()}


def _restore_knobs(engine, saved, is_madx):
    if is_madx:
        # A dead session (time-out, interrupt) has nothing left to restore; a live one that
        # refuses the restore raises (chained to the failure being handled), never silently.
        if engine.alive:
            engine.input("\n".join(f"{k} := {expr};" if expr is not None else f"{k} = {value!r};"
                                   for k, (value, expr) in saved.items()))
        return
    for k, (value, expr) in saved.items():
        engine.vars[k] = expr if expr is not None else value


def _match_madx(engine, active, knobs, sequence, tolerance, step):
    from .optics import _run_madx_twiss

    seq = f", sequence = {sequence}" if sequence else ""
    # A fresh twiss gives the beam's gamma (an older table may belong to another beam); on an
    # unstable lattice it raises UnstableLatticeError (MAD-X only says "TWISS failed").
    _run_madx_twiss(engine, f"twiss{seq};", sequence)
    beta0 = math.sqrt(1.0 - 1.0 / float(engine.madx.table.twiss.summary["gamma"]) ** 2)
    goals = ", ".join(f"dq{1 if p == 'x' else 2} = {val / beta0!r}" for p, val in active.items())
    # Plain `match` (as the source does) uses the analytic chromaticity; `match, chrom`
    # would match the one-sided finite difference (see below).
    lines = [f"match{seq};", f"global{seq}, {goals};"]
    lines += [f"vary, name = {k}, step = {step!r};" for k in knobs]
    # lmdif's tolerance bounds the penalty, a sum of squared errors: ask for errors a
    # hundred times below the requested tolerance.
    penalty = (min(tolerance, 1e-6) / 100) ** 2
    lines += [f"lmdif, calls = 200, tolerance = {penalty!r};", "endmatch;"]
    try:
        engine.input("\n".join(lines))
    except MadxError as exc:
        # The caller's lattice was stable (the twiss above): the knobs' steps made it unstable.
        if not any("twiss failed" in m.lower() for m in exc.messages):
            raise
        raise ConvergenceError("chromaticity match (MAD-X)",
                               fix="MAD-X's TWISS failed inside the match: the varied knobs made the "
                               "lattice unstable; the knobs are put back; choose targets nearer the "
                               "present chromaticity or knobs that act on it") from exc
    values = {k: float(engine.madx.globals[k]) for k in knobs}
    # Check with plain `twiss`: its dq1, dq2 are the analytic chromaticity (they agree with
    # a fit of tracked tunes to 1e-11), while `twiss, chrom` is a one-sided difference in
    # deltap = 1e-6, off by (Q''/2) 1e-6 (2e-6 to 4e-6 at Q' = 1 in the LHC cell).
    # `table.summ` holds full doubles (the twiss table's header only 10 digits).
    _run_madx_twiss(engine, f"twiss{seq};", sequence)
    summ = engine.madx.table.summ
    return values, {"x": float(summ.dq1[0]) * beta0, "y": float(summ.dq2[0]) * beta0}


def _match_xtrack(line, active, knobs, tolerance, step):
    # Chromaticity is linear in sextupole strengths (at fixed linear optics), so a
    # Newton solve with a finite-difference Jacobian converges in one or two steps;
    # xtrack's own optimiser stops as soon as it is within tolerance, which leaves
    # the strengths less precise (2e-5 relative for the LHC cell).
    planes = list(active)
    goal = np.array([active[p] for p in planes])
    values = {k: float(line.vars[k]._value) for k in knobs}
    big_step = max(step, 1e-3)
    for _ in range(5):
        current = _xtrack_chroma(line, planes)
        if np.all(np.abs(current - goal) < tolerance * 1e-2):
            break
        jac = _response(line, knobs, planes, big_step, base=current)
        if not np.all(np.isfinite(jac)) or not np.all(np.isfinite(current)):
            raise ConvergenceError("chromaticity match (xtrack)",
                                   fix="the chromaticity or its response is NaN: check the knobs and "
                                   "that the lattice is stable")
        delta, *_ = np.linalg.lstsq(jac, goal - current, rcond=None)
        for k, d in zip(knobs, delta):
            values[k] += float(d)
            line.vars[k] = values[k]
    achieved = _xtrack_chroma(line, planes)
    return values, dict(zip(planes, achieved))
