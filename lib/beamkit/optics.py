"""Twiss functions from MAD-X, xtrack and transfer matrices as one tidy format.

Every ``twiss_*`` function returns an :class:`Optics`: a :class:`pandas.DataFrame` with
one row per position and a ``summary`` dict, with the same names and units whichever
engine computed them, so they can be compared with :func:`compare`.

Table columns: ``name``, ``s_m``, ``beta_x_m``, ``beta_y_m``, ``alpha_x``, ``alpha_y``,
``disp_x_m`` (dispersion D_x = dx/d delta), ``disp_px`` (dpx/d delta), ``mu_x``,
``mu_y`` (phase advance in units of 2 pi).

Summary keys: ``q_x``, ``q_y`` (tunes), ``dq_x``, ``dq_y`` (chromaticities
dQ/d delta), ``beta_x_max_m``, ``beta_y_max_m``, ``disp_x_max_m``, ``alpha_c``
(momentum compaction), ``gamma_tr`` (transition gamma, nan when ``alpha_c <= 0``).

Momentum conventions: MAD-X reports dispersion and chromaticity against
``pt = Delta E / (p0 c)``; since ``d pt = beta0 d delta`` this module multiplies them by
the relativistic ``beta0`` so that every engine reports derivatives with respect to
``delta = Delta p / p0`` (as xtrack does).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import matrices as _mx

__all__ = [
    "Optics",
    "twiss_madx",
    "twiss_xtrack",
    "twiss_matrices",
    "momentum_compaction_from_matrices",
    "compare",
    "match_chromaticity",
    "slip_factor",
    "SUMMARY_KEYS",
]

SUMMARY_KEYS = ("q_x", "q_y", "dq_x", "dq_y", "beta_x_max_m", "beta_y_max_m",
                "disp_x_max_m", "alpha_c", "gamma_tr")
_COLUMNS = ("name", "s_m", "beta_x_m", "beta_y_m", "alpha_x", "alpha_y",
            "disp_x_m", "disp_px", "mu_x", "mu_y")


@dataclass
class Optics:
    """Optics along a lattice and its global summary.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per position, columns as in the module docstring.
    summary : dict
        Tunes, chromaticities, maxima, momentum compaction (module docstring).
    source : str
        Which engine produced it.
    """

    table: pd.DataFrame
    summary: dict
    source: str = ""
    extra: dict = field(default_factory=dict)

    def __repr__(self):
        items = ", ".join(f"{k}={self.summary[k]:.10g}" for k in ("q_x", "q_y", "dq_x", "dq_y")
                          if k in self.summary)
        return f"Optics({self.source}: {len(self.table)} rows, {items})"


def _gamma_tr(alpha_c):
    return 1.0 / math.sqrt(alpha_c) if alpha_c > 0 else float("nan")


def _summary_from_table(table, **values):
    out = {
        "beta_x_max_m": float(table["beta_x_m"].max()),
        "beta_y_max_m": float(table["beta_y_m"].max()),
        "disp_x_max_m": float(table["disp_x_m"].max()),
    }
    out.update({k: float(v) for k, v in values.items()})
    out["gamma_tr"] = _gamma_tr(out["alpha_c"])
    return {k: out[k] for k in SUMMARY_KEYS}


def twiss_madx(mad, sequence=None, max_step_m=None, chrom=False):
    """Run MAD-X ``twiss`` in a :class:`beamkit.madx.MadxSession` and tidy the result.

    Parameters
    ----------
    mad : beamkit.madx.MadxSession
        A session with the sequence defined (e.g. by ``mad.load(lattice)``).
    sequence : str, optional
        The sequence to use; by default the one in use.
    max_step_m : float, optional
        Report optics every ``max_step_m`` metres inside elements (MAD-X
        ``select, flag=interpolate, step``), for smooth plots. By default the table
        holds element ends and centres (``slice=2``), where beta peaks in quadrupoles.
    chrom : bool
        ``twiss, chrom``: chromaticities by finite differences in ``deltap`` (what
        ``match, chrom`` uses) instead of MAD-X's default approximation. The two differ
        by a few 1e-6 when sextupoles are strong (3.5e-6 at Q' = 1 in the LHC cell).

    Notes
    -----
    The summary's maxima are those of the table. MAD-X's own ``betxmax``, ``betymax``
    and ``dxmax`` are kept in ``extra["madx_summary"]``: they are taken at a coarser
    set of points and can miss the peak inside a thick quadrupole (186.458 m instead of
    186.908 m for beta_y of the LHC cell).
    """
    cmds = ["select, flag = interpolate, clear;"]
    if max_step_m is None:
        cmds.append("select, flag = interpolate, slice = 2;")
    else:
        cmds.append(f"select, flag = interpolate, step = {float(max_step_m)!r};")
    cmds.append("twiss" + (f", sequence = {sequence}" if sequence else "") + (", chrom" if chrom else "") + ";")
    mad.input("\n".join(cmds))
    tw = mad.madx.table.twiss
    summ = tw.summary  # the twiss table's header: beam and the global quantities
    beta0 = math.sqrt(1.0 - 1.0 / float(summ["gamma"]) ** 2)
    table = pd.DataFrame({
        "name": [n.split(":")[0] for n in tw.name],
        "s_m": np.asarray(tw.s, float),
        "beta_x_m": np.asarray(tw.betx, float),
        "beta_y_m": np.asarray(tw.bety, float),
        "alpha_x": np.asarray(tw.alfx, float),
        "alpha_y": np.asarray(tw.alfy, float),
        "disp_x_m": np.asarray(tw.dx, float) * beta0,
        "disp_px": np.asarray(tw.dpx, float) * beta0,
        "mu_x": np.asarray(tw.mux, float),
        "mu_y": np.asarray(tw.muy, float),
    })
    summary = _summary_from_table(
        table,
        q_x=summ["q1"], q_y=summ["q2"], dq_x=summ["dq1"] * beta0, dq_y=summ["dq2"] * beta0,
        alpha_c=summ["alfa"],
    )
    raw = {k: float(summ[k]) for k in ("q1", "q2", "dq1", "dq2", "betxmax", "betymax",
                                        "dxmax", "alfa", "gammatr")}
    return Optics(table, summary, "MAD-X", {"beta0": beta0, "madx_summary": raw})


def twiss_xtrack(line, method="4d", max_step_m=None):
    """Periodic Twiss of an :class:`xtrack.Line` as a tidy :class:`Optics`.

    Parameters
    ----------
    line : xtrack.Line
        With ``particle_ref`` set.
    method : str
        ``"4d"`` (default: no RF needed) or ``"6d"``.
    max_step_m : float, optional
        Also report the optics every ``max_step_m`` metres, for smooth plots. The table
        always holds element ends and the centres of thick elements (the line is cut
        there on a shallow copy; the line passed in is not changed).
    """
    elements = line.get_table()
    thick = np.asarray(elements.isthick, bool) & (np.asarray(elements.element_type) != "Drift")
    s_all = np.asarray(elements.s, float)
    cuts = list((s_all[:-1][thick[:-1]] + s_all[1:][thick[:-1]]) / 2)
    if max_step_m is not None:
        cuts += list(np.arange(max_step_m, line.get_length(), max_step_m))
    work = line
    if cuts:
        work = line.copy(shallow=True)
        work.cut_at_s(sorted(set(float(c) for c in cuts)), with_progress=False)
    tw = work.twiss(method=method)
    table = pd.DataFrame({
        "name": [str(n).split(".")[0] for n in tw.name],
        "s_m": np.asarray(tw.s, float),
        "beta_x_m": np.asarray(tw.betx, float),
        "beta_y_m": np.asarray(tw.bety, float),
        "alpha_x": np.asarray(tw.alfx, float),
        "alpha_y": np.asarray(tw.alfy, float),
        "disp_x_m": np.asarray(tw.dx, float),
        "disp_px": np.asarray(tw.dpx, float),
        "mu_x": np.asarray(tw.mux, float),
        "mu_y": np.asarray(tw.muy, float),
    })
    summary = _summary_from_table(
        table, q_x=tw.qx, q_y=tw.qy, dq_x=tw.dqx, dq_y=tw.dqy,
        alpha_c=tw.momentum_compaction_factor,
    )
    return Optics(table, summary, "xtrack")


def momentum_compaction_from_matrices(lattice, thin=False):
    """Momentum compaction ``alpha_c = (1/C) * integral of D(s)/rho(s) ds``.

    The integral over each sector bend is done in closed form from the periodic
    dispersion at its entrance: for a bend of angle theta and curvature h = 1/rho,
    ``integral h D ds = D0 sin(theta) + D0' (1 - cos theta)/h + (theta - sin theta)/h``.
    """
    slices = lattice.transfer_matrices("x", thin=thin)
    one_turn = _mx.line_matrix(sl.matrix for sl in slices)
    start = _mx.periodic_twiss(one_turn, "x")
    d, dp = start.dispersion_m, start.dispersion_prime
    total = 0.0
    for sl in slices:
        if sl.kind == "sbend":
            m = sl.matrix
            length = sl.s_end_m - sl.s_start_m
            theta = math.asin(m[1, 2]) if abs(m[1, 2]) < 1 else math.pi / 2
            if theta != 0.0:
                h = theta / length
                total += d * math.sin(theta) + dp * (1 - math.cos(theta)) / h + (theta - math.sin(theta)) / h
        d, dp = sl.matrix[:2, :2] @ np.array([d, dp]) + sl.matrix[:2, 2]
    return total / lattice.length_m


def twiss_matrices(lattice, thin=False, max_step_m=0.5, delta_step=1e-6):
    """Periodic optics of a :class:`beamkit.lattices.Lattice` from its transfer matrices.

    Parameters
    ----------
    lattice : beamkit.lattices.Lattice
    thin : bool
        Thin-lens quadrupoles (see :meth:`beamkit.lattices.Lattice.transfer_matrices`).
    max_step_m : float
        Longest slice (m) for the table along ``s``.
    delta_step : float
        Momentum step of the central difference for the chromaticity. The truncation
        error is O(delta_step^2) ~ 1e-12 and rounding O(1e-16/delta_step) ~ 1e-10.

    Notes
    -----
    The chromaticity here contains only the linear chromatic focusing of
    quadrupoles and bends (``k/(1+delta)``); it leaves out the higher-order terms of
    bends with dispersion (their geometric and edge terms) that MAD-X and xtrack include.
    For the LHC cell with bends this is a difference of about 2e-4 in ``dq_y``.
    """
    out = {}
    tune = {}
    for plane in ("x", "y"):
        slices = lattice.transfer_matrices(plane, thin=thin, max_step_m=max_step_m)
        one_turn = _mx.line_matrix(sl.matrix for sl in slices)
        start = _mx.periodic_twiss(one_turn, plane)
        along = _mx.propagate_twiss([sl.matrix for sl in slices], start)
        out[plane] = (slices, along, start)
        q = []
        for d in (+delta_step, -delta_step):
            m = lattice.one_turn_matrix(plane, thin=thin, delta=d)
            q.append(_mx.periodic_twiss(m, plane).tune)
        tune[plane] = (start.tune, (q[0] - q[1]) / (2 * delta_step))
    slices, ax, _ = out["x"]
    _, ay, _ = out["y"]
    table = pd.DataFrame({
        "name": ["start"] + [sl.name for sl in slices],
        "s_m": np.array([0.0] + [sl.s_end_m for sl in slices]),
        "beta_x_m": ax["beta_m"],
        "beta_y_m": ay["beta_m"],
        "alpha_x": ax["alpha"],
        "alpha_y": ay["alpha"],
        "disp_x_m": ax["dispersion_m"],
        "disp_px": ax["dispersion_prime"],
        "mu_x": ax["mu_rad"] / (2 * np.pi),
        "mu_y": ay["mu_rad"] / (2 * np.pi),
    })
    summary = _summary_from_table(
        table, q_x=tune["x"][0], q_y=tune["y"][0], dq_x=tune["x"][1], dq_y=tune["y"][1],
        alpha_c=momentum_compaction_from_matrices(lattice, thin=thin),
    )
    return Optics(table, summary, "thin-lens matrices" if thin else "thick matrices")


def slip_factor(alpha_c, gamma):
    """Phase-slip factor ``eta = alpha_c - 1/gamma^2`` (dimensionless).

    ``eta = (d T/T) / delta`` for the revolution period T: below transition
    (``gamma < gamma_tr``, eta < 0) faster particles arrive earlier; above it (eta > 0)
    their longer path wins and they arrive later. ``gamma`` may be an array.
    """
    gamma = np.asarray(gamma, dtype=float)
    if np.any(gamma < 1):
        raise ValueError("gamma must be >= 1")
    return alpha_c - 1.0 / gamma**2


def compare(results, reference=None, keys=SUMMARY_KEYS):
    """Side-by-side summary of several :class:`Optics`, with differences.

    Parameters
    ----------
    results : dict of str to Optics
        Label to result, e.g. ``{"MAD-X": a, "xtrack": b}``.
    reference : str, optional
        Label the differences are taken against; the first one by default.

    Returns
    -------
    pandas.DataFrame
        One row per summary quantity; a column per label, then ``label - reference``
        for every other label.
    """
    labels = list(results)
    if not labels:
        raise ValueError("compare needs at least one result")
    reference = labels[0] if reference is None else reference
    if reference not in results:
        raise KeyError(f"reference {reference!r} is not one of {labels}")
    data = {lab: [results[lab].summary[k] for k in keys] for lab in labels}
    frame = pd.DataFrame(data, index=list(keys))
    for lab in labels:
        if lab != reference:
            frame[f"{lab} - {reference}"] = frame[lab] - frame[reference]
    frame.index.name = "quantity"
    return frame


def match_chromaticity(engine, dq_x=None, dq_y=None, knobs=("k2sext1", "k2sext2"), *,
                       sequence=None, tolerance=1e-6, step=1e-4):
    """Set sextupole knobs so that the chromaticities reach targets.

    Parameters
    ----------
    engine : beamkit.madx.MadxSession or xtrack.Line
        MAD-X session with the sequence in use, or an xtrack line with the knobs in
        ``line.vars``.
    dq_x, dq_y : float or None
        Targets for dQ/d delta (beamkit's convention, for either engine; the MAD-X
        targets are converted to its ``pt`` convention with ``beta0``). ``None`` leaves
        a plane free: with a single knob only one plane can be matched.
    knobs : sequence of str
        Variables to vary (strengths ``k2`` of sextupole families, in m^-3).
    sequence : str, optional
        MAD-X sequence (default: the one in use).
    tolerance : float
        Accepted error on each chromaticity. xtrack's chromaticity comes from finite
        differences with ~1e-9 noise, so 1e-6 is a sensible floor to demand.
    step : float
        Step of the knobs for the numerical derivatives (m^-3).

    Returns
    -------
    dict
        Knob name to its matched value (m^-3).

    Raises
    ------
    KeyError
        When a knob is not a variable of the session or line.
    ValueError
        When no target is given, more targets than knobs, or the match fails.
    beamkit.MadxError
        When MAD-X fails to match (e.g. a knob that does not exist).

    Notes
    -----
    MAD-X uses ``match, chrom; global, dq1=..., dq2=...``: a ``constraint`` on ``dq1``
    runs without complaint and changes nothing (physics notes).
    """
    targets = {"x": dq_x, "y": dq_y}
    active = {plane: value for plane, value in targets.items() if value is not None}
    knobs = list(knobs)
    if not active:
        raise ValueError("give at least one target, dq_x or dq_y")
    if len(active) > len(knobs):
        raise ValueError(f"{len(active)} targets need at least as many knobs; got {knobs}")
    from .madx import MadxSession

    is_madx = isinstance(engine, MadxSession)
    known = engine.madx.globals if is_madx else engine.vars
    missing = [k for k in knobs if k not in known]
    if missing:
        raise KeyError(f"unknown knobs {missing}: they are not variables of the "
                       f"{'MAD-X session' if is_madx else 'xtrack line'}")
    if is_madx:
        seq = f", sequence = {sequence}" if sequence else ""
        # A fresh twiss gives the beam's gamma (an older table may belong to another beam).
        engine.input(f"twiss{seq};")
        beta0 = math.sqrt(1.0 - 1.0 / float(engine.madx.table.twiss.summary["gamma"]) ** 2)
        goals = ", ".join(f"dq{1 if p == 'x' else 2} = {v / beta0!r}" for p, v in active.items())
        lines = [f"match, chrom{seq};", f"global{seq}, {goals};"]
        lines += [f"vary, name = {k}, step = {step!r};" for k in knobs]
        # lmdif's tolerance bounds the penalty, a sum of squared errors: ask for errors a
        # hundred times below the requested tolerance.
        penalty = (min(tolerance, 1e-6) / 100) ** 2
        lines += [f"lmdif, calls = 200, tolerance = {penalty!r};", "endmatch;"]
        engine.input("\n".join(lines))
        values = {k: float(engine.madx.globals[k]) for k in knobs}
        # Check with the same (finite-difference) chromaticity that `match, chrom` uses;
        # a plain `twiss` reports an approximation that differs by a few 1e-6 at Q' ~ 1.
        engine.input("twiss, chrom;")
        summ = engine.madx.table.twiss.summary
        achieved = {"x": summ["dq1"] * beta0, "y": summ["dq2"] * beta0}
    else:
        # Chromaticity is linear in sextupole strengths (at fixed linear optics), so a
        # Newton solve with a finite-difference Jacobian converges in one or two steps;
        # xtrack's own optimiser stops as soon as it is within tolerance, which leaves
        # the strengths less precise (2e-5 relative for the LHC cell).
        planes = list(active)
        goal = np.array([active[p] for p in planes])

        def chroma():
            tw = engine.twiss(method="4d")
            return np.array([tw.dqx if p == "x" else tw.dqy for p in planes])

        values = {k: float(engine.vars[k]._value) for k in knobs}
        big_step = max(step, 1e-3)
        for _ in range(5):
            current = chroma()
            if np.all(np.abs(current - goal) < tolerance * 1e-2):
                break
            jac = np.empty((len(planes), len(knobs)))
            for j, k in enumerate(knobs):
                engine.vars[k] = values[k] + big_step
                jac[:, j] = (chroma() - current) / big_step
                engine.vars[k] = values[k]
            delta, *_ = np.linalg.lstsq(jac, goal - current, rcond=None)
            for k, d in zip(knobs, delta):
                values[k] += float(d)
                engine.vars[k] = values[k]
        tw = engine.twiss(method="4d")
        achieved = {"x": tw.dqx, "y": tw.dqy}
    misses = {p: achieved[p] - v for p, v in active.items() if abs(achieved[p] - v) > tolerance}
    if misses:
        raise ValueError(f"chromaticity match did not converge: errors {misses} exceed {tolerance}")
    return values
