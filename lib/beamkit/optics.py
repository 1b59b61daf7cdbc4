"""Twiss functions from MAD-X, xtrack and transfer matrices as one tidy format.

Every ``twiss_*`` function returns an :class:`Optics`: a frozen result holding a
:class:`pandas.DataFrame` with one row per position and the global quantities as
attributes, with the same names and units whichever engine computed them, so they can be
compared with :func:`compare`.

Table columns: ``name``, ``s_m``, ``beta_x_m``, ``beta_y_m``, ``alpha_x``, ``alpha_y``,
``dispersion_x_m`` (D_x = dx/d delta), ``dispersion_prime_x`` (dpx/d delta),
``mu_x_rad``, ``mu_y_rad`` (phase advance from the start, in radians).

Global quantities (``SUMMARY_KEYS``): ``q_x``, ``q_y`` (tunes), ``dq_x``, ``dq_y``
(chromaticities dQ/d delta), ``beta_x_max_m``, ``beta_y_max_m``, ``dispersion_x_max_m``,
``alpha_c`` (momentum compaction), ``gamma_tr`` (transition gamma, nan when
``alpha_c <= 0``).

Momentum conventions: MAD-X reports dispersion and chromaticity against
``pt = Delta E / (p0 c)``; since ``d pt = beta0 d delta`` this module multiplies them by
the relativistic ``beta0`` so that every engine reports derivatives with respect to
``delta = Delta p / p0`` (as xtrack does) :cite:p:`madx,xsuite2023`.

Chromaticity matching lives in :mod:`beamkit.chromaticity`, momentum compaction and the
slip factor in :mod:`beamkit.longitudinal`.

The module is about 440 lines because each engine's adapter carries its own input checks and
the translation of that engine's failures (unstable cell, closed-orbit search) into beamkit
errors; the three adapters share one result type and belong together.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import pandas as pd

from . import _validate as v
from . import matrices as _mx
from .elements import KINDS
from .errors import ConvergenceError, InputError, UnstableLatticeError
from .longitudinal import momentum_compaction_from_matrices, transition_gamma

__all__ = [
    "Optics",
    "twiss_madx",
    "twiss_xtrack",
    "twiss_matrices",
    "twiss_three_ways",
    "compare",
    "SUMMARY_KEYS",
]

#: Names of the global quantities of an :class:`Optics` (its attributes and ``summary`` keys).
SUMMARY_KEYS = ("q_x", "q_y", "dq_x", "dq_y", "beta_x_max_m", "beta_y_max_m",
                "dispersion_x_max_m", "alpha_c", "gamma_tr")
#: Columns of the table of an :class:`Optics`.
COLUMNS = ("name", "s_m", "beta_x_m", "beta_y_m", "alpha_x", "alpha_y",
           "dispersion_x_m", "dispersion_prime_x", "mu_x_rad", "mu_y_rad")


@dataclass(frozen=True, eq=False)
class Optics:
    """Optics along a lattice and its global quantities, from one engine.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per position, columns as in the module docstring (SI units).
    source : str
        Which engine produced it (``"MAD-X"``, ``"xtrack"``, ``"thick matrices"``...).
    q_x, q_y : float
        Tunes (1).
    dq_x, dq_y : float
        Chromaticities dQ/d delta (1).
    beta_x_max_m, beta_y_max_m, dispersion_x_max_m : float
        Maxima over the table's rows (m).
    alpha_c : float
        Momentum compaction (1).
    gamma_tr : float
        Transition gamma (1), NaN when ``alpha_c <= 0``.
    beta0 : float
        Relativistic beta of the reference particle used to convert MAD-X's ``pt``
        derivatives (NaN for the other engines, which need none).
    madx_summary : dict
        MAD-X's own summary (``q1``, ``q2``, ``dq1``, ``dq2`` per ``pt``, ``betxmax``,
        ``betymax``, ``dxmax``, ``alfa``, ``gammatr``), a read-only mapping, for the
        MAD-X engine; None for the others.
    """

    table: pd.DataFrame
    source: str
    q_x: float
    q_y: float
    dq_x: float
    dq_y: float
    beta_x_max_m: float
    beta_y_max_m: float
    dispersion_x_max_m: float
    alpha_c: float
    gamma_tr: float
    beta0: float = float("nan")
    madx_summary: object = None

    @property
    def summary(self):
        """The global quantities as a dict keyed by ``SUMMARY_KEYS``."""
        return {k: getattr(self, k) for k in SUMMARY_KEYS}

    def to_frame(self):
        """A copy of the table along ``s`` (the result itself stays unchanged)."""
        return self.table.copy()

    def __repr__(self):
        items = ", ".join(f"{k}={getattr(self, k):.10g}" for k in ("q_x", "q_y", "dq_x", "dq_y"))
        return f"Optics({self.source}: {len(self.table)} rows, {items})"


def _optics(table, source, *, q_x, q_y, dq_x, dq_y, alpha_c, **extra):
    alpha_c = float(alpha_c)
    return Optics(
        table=table, source=source, q_x=float(q_x), q_y=float(q_y), dq_x=float(dq_x), dq_y=float(dq_y),
        beta_x_max_m=float(table["beta_x_m"].max()),
        beta_y_max_m=float(table["beta_y_m"].max()),
        dispersion_x_max_m=float(table["dispersion_x_m"].max()),
        alpha_c=alpha_c, gamma_tr=transition_gamma(alpha_c), **extra)


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
        ``twiss, chrom``: MAD-X's ``dq1``, ``dq2`` become a one-sided finite difference
        in ``deltap = 1e-6`` (what ``match, chrom`` uses), off by ``(Q''/2) 1e-6``:
        4.9e-7 on the LHC cell without sextupoles, 2e-6 to 4e-6 at Q' = 1. The default
        (plain ``twiss``) is the exact, analytic chromaticity: it agrees with a cubic fit
        to tracked tunes to 1e-11 (issue 9, point 4). Keep the default unless you want
        to reproduce ``match, chrom``.

    Raises
    ------
    beamkit.UnstableLatticeError
        When the lattice has no periodic solution. MAD-X only says "TWISS failed"; the
        error gives the plane and the trace of MAD-X's one-turn matrix.
    beamkit.MadxError
        When MAD-X fails otherwise.

    Notes
    -----
    The summary's maxima are those of the table. MAD-X's own ``betxmax``, ``betymax``
    and ``dxmax`` are kept in ``madx_summary``: they are taken at a coarser
    set of points and can miss the peak inside a thick quadrupole (186.458 m instead of
    186.908 m for beta_y of the LHC cell).
    """
    from .madx import MadxSession

    max_step_m = v.scalar("max_step_m", max_step_m, positive=True, unit="m", allow_none=True)
    if not isinstance(mad, MadxSession):
        raise InputError("mad", mad, "must be a beamkit.madx.MadxSession",
                         "open one with beamkit.madx.session()")
    if sequence is not None and not (isinstance(sequence, str) and sequence.isidentifier()):
        raise InputError("sequence", sequence, "must be a MAD-X sequence name")
    cmds = ["select, flag = interpolate, clear;"]
    if max_step_m is None:
        cmds.append("select, flag = interpolate, slice = 2;")
    else:
        cmds.append(f"select, flag = interpolate, step = {float(max_step_m)!r};")
    seq = f", sequence = {sequence}" if sequence else ""
    cmds.append("twiss" + seq + (", chrom" if chrom else "") + ";")
    _run_madx_twiss(mad, "\n".join(cmds), sequence)
    tw = mad.madx.table.twiss
    summ = tw.summary  # the twiss table's header: beam and the global quantities
    # The header holds 10 significant digits; table.summ holds full doubles.
    full = mad.madx.table.summ
    summ = {**summ, **{k: float(full[k][0]) for k in ("q1", "q2", "dq1", "dq2")}}
    beta0 = math.sqrt(1.0 - 1.0 / float(summ["gamma"]) ** 2)
    table = pd.DataFrame({
        "name": [n.split(":")[0] for n in tw.name],
        "s_m": np.asarray(tw.s, float),
        "beta_x_m": np.asarray(tw.betx, float),
        "beta_y_m": np.asarray(tw.bety, float),
        "alpha_x": np.asarray(tw.alfx, float),
        "alpha_y": np.asarray(tw.alfy, float),
        "dispersion_x_m": np.asarray(tw.dx, float) * beta0,
        "dispersion_prime_x": np.asarray(tw.dpx, float) * beta0,
        "mu_x_rad": np.asarray(tw.mux, float) * (2 * np.pi),
        "mu_y_rad": np.asarray(tw.muy, float) * (2 * np.pi),
    })
    raw = {k: float(summ[k]) for k in ("q1", "q2", "dq1", "dq2", "betxmax", "betymax",
                                        "dxmax", "alfa", "gammatr")}
    return _optics(table, "MAD-X", q_x=summ["q1"], q_y=summ["q2"], dq_x=summ["dq1"] * beta0,
                   dq_y=summ["dq2"] * beta0, alpha_c=summ["alfa"], beta0=beta0,
                   madx_summary=MappingProxyType(raw))


def _run_madx_twiss(mad, text, sequence=None):
    """Run MAD-X input ending in a periodic ``twiss``; name the failure of an unstable lattice.

    MAD-X answers ``twiss`` on a lattice without a periodic solution with "TWISS failed"
    and no number. This runs MAD-X's one-turn matrix from an arbitrary start instead
    (``twiss, betx = 1, bety = 1, rmatrix``: a transfer line, which needs no periodic
    solution, into a separate table that is deleted afterwards) and raises
    :class:`beamkit.UnstableLatticeError` with the trace of the plane where
    ``|trace| >= 2``. Any other MAD-X failure is raised unchanged as
    :class:`beamkit.MadxError`. Used by :func:`twiss_madx` and
    :func:`beamkit.chromaticity.match_chromaticity`.

    Parameters
    ----------
    mad : beamkit.madx.MadxSession
        The session.
    text : str
        MAD-X input whose last command is the ``twiss``.
    sequence : str, optional
        The sequence of that ``twiss`` (default: the one in use).

    Returns
    -------
    str
        What MAD-X printed.
    """
    from .errors import MadxError

    try:
        return mad.input(text)
    except MadxError as exc:
        if not mad.alive or not any("twiss failed" in m.lower() for m in exc.messages):
            raise
        failure = exc
    traces = _madx_one_turn_traces(mad, sequence)
    for plane, trace in traces.items():
        if abs(trace) >= 2.0:  # NaN (trace unknown): MAD-X's own error is raised below
            raise UnstableLatticeError(
                trace, plane, "MAD-X said 'TWISS failed'; the trace is that of MAD-X's one-turn matrix "
                "(twiss, betx = 1, bety = 1, rmatrix); make the lattice stable: weaker quadrupoles "
                "(a thin-lens FODO cell needs a focal length above a quarter of its length) or "
                "other knob values") from failure
    raise failure


def _madx_one_turn_traces(mad, sequence):
    """Traces of MAD-X's one-turn matrix per plane (NaN when MAD-X cannot give them)."""
    from .errors import BeamkitError

    seq = f", sequence = {sequence}" if sequence else ""
    try:
        mad.input(f"twiss{seq}, betx = 1, bety = 1, rmatrix, table = beamkit_one_turn;")
        t = mad.madx.table["beamkit_one_turn"]
        traces = {"x": float(t.re11[-1] + t.re22[-1]), "y": float(t.re33[-1] + t.re44[-1])}
        mad.input("delete, table = beamkit_one_turn;")
    except BeamkitError:
        return {"x": math.nan, "y": math.nan}
    return traces


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
        there on a copy; the line passed in is not changed).
    """
    method = v.choice("method", method, ("4d", "6d"), "6d needs RF cavities; 4d does not")
    max_step_m = v.scalar("max_step_m", max_step_m, positive=True, unit="m", allow_none=True)
    if not (hasattr(line, "get_table") and hasattr(line, "twiss")):
        raise InputError("line", line, "must be an xtrack.Line", "e.g. lattice.to_xtrack()")
    elements = line.get_table()
    thick = np.asarray(elements.isthick, bool) & (np.asarray(elements.element_type) != "Drift")
    s_all = np.asarray(elements.s, float)
    cuts = list((s_all[:-1][thick[:-1]] + s_all[1:][thick[:-1]]) / 2)
    if max_step_m is not None:
        cuts += list(np.arange(max_step_m, line.get_length(), max_step_m))
    work = line
    if cuts:
        work = line.copy()  # a shallow copy would add the slices to the caller's element dict
        work.cut_at_s(sorted(set(float(c) for c in cuts)), with_progress=False)
    tw = _xtrack_twiss(work, method)
    table = pd.DataFrame({
        "name": [str(n).split(".")[0] for n in tw.name],
        "s_m": np.asarray(tw.s, float),
        "beta_x_m": np.asarray(tw.betx, float),
        "beta_y_m": np.asarray(tw.bety, float),
        "alpha_x": np.asarray(tw.alfx, float),
        "alpha_y": np.asarray(tw.alfy, float),
        "dispersion_x_m": np.asarray(tw.dx, float),
        "dispersion_prime_x": np.asarray(tw.dpx, float),
        "mu_x_rad": np.asarray(tw.mux, float) * (2 * np.pi),
        "mu_y_rad": np.asarray(tw.muy, float) * (2 * np.pi),
    })
    return _optics(table, "xtrack", q_x=tw.qx, q_y=tw.qy, dq_x=tw.dqx, dq_y=tw.dqy,
                   alpha_c=tw.momentum_compaction_factor)


def _xtrack_twiss(line, method):
    """``line.twiss``, with xtrack's failures for an unstable or NaN lattice named."""
    import xtrack as xt

    try:
        return line.twiss(method=method)
    except (ValueError, xt.twiss.ClosedOrbitSearchError) as exc:
        # xtrack says "Invalid n1" (no normal form: |trace| >= 2) or raises an empty
        # ClosedOrbitSearchError; find out which from the knobs and the one-turn matrix.
        failure = exc
    knobs = line.vars.get_table()
    bad = [str(n) for n, val in zip(knobs.name, knobs.value)
           if isinstance(val, float) and not math.isfinite(val)]
    if bad:
        raise InputError("line", bad, "has knobs that are NaN or infinite", "set them to finite values") \
            from failure
    particle = line.build_particles(x=0.0, px=0.0, y=0.0, py=0.0, zeta=0.0, delta=0.0)
    r = np.asarray(line.get_R_matrix(particle_on_co=particle)["R_matrix"], float)
    for plane, i in (("x", 0), ("y", 2)):
        trace = r[i, i] + r[i + 1, i + 1]
        if not abs(trace) < 2.0:
            raise UnstableLatticeError(trace, plane, f"xtrack said {type(failure).__name__}: "
                                       f"{failure or 'no message'}") from failure
    raise ConvergenceError("xtrack's closed-orbit search",
                           fix=f"the linear one-turn matrix is stable; xtrack said "
                           f"{type(failure).__name__}: {failure or 'no message'}") from failure


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
        Momentum step of the central difference for the ``k/(1+delta)`` part of the
        chromaticity (the bend and sextupole terms are exact derivatives and do not
        depend on it). The truncation error is ``(d3Q/d delta3) delta_step^2 / 6`` (0.7
        delta_step^2 on a cell of 0.39 rad bends: 7e-13 at the default, 7e-7 at 1e-3)
        and rounding O(1e-16/delta_step) ~ 1e-10.

    Notes
    -----
    The chromaticity ``dq_x``, ``dq_y`` is the exact first derivative dQ/d delta of the
    linear motion about the off-momentum closed orbit, the quantity MAD-X's plain
    ``twiss`` reports. It has three parts:

    * the chromatic focusing ``k/(1+delta)`` of quadrupoles and of the bends' weak focusing
      ``h^2``, from a central difference of the matrices of
      :meth:`beamkit.lattices.Lattice.transfer_matrices`;
    * the first-order chromatic terms of the bends: curvature times dispersion inside them
      and the slope ``D' delta`` at their pole faces (first order in delta, second order in
      the bending angle; 3.1019e-4 in ``dq_x`` and 2.1111e-4 in ``dq_y`` for the LHC cell),
      :func:`beamkit.matrices.sector_bend_chromatic_terms`;
    * the sextupoles' gradient ``k2 D delta`` on the dispersive orbit,
      ``(1/4 pi) k2 integral beta D ds`` (minus for y),
      :func:`beamkit.matrices.sextupole_chromatic_terms`.

    The last two are added by first-order perturbation theory with the on-momentum optics,
    which is exact for a derivative; :meth:`beamkit.lattices.Lattice.transfer_matrices`
    at ``delta`` holds only the first part, while
    :meth:`beamkit.lattices.Lattice.off_momentum_matrices` (matrices linearised about the
    dispersive orbit) holds all three and gives the same chromaticity by another route.
    With them ``dq_x``, ``dq_y`` agree with MAD-X's plain ``twiss`` to ~1e-10
    (``tests/test_optics_chromatic.py``) :cite:p:`madx`. Sextupoles keep their thick
    integral with ``thin=True`` (only quadrupoles are thinned).
    """
    from .lattices import Lattice

    if not isinstance(lattice, Lattice):
        raise InputError("lattice", lattice, "must be a beamkit.lattices.Lattice")
    if not isinstance(thin, (bool, np.bool_)):
        raise InputError("thin", thin, "must be True or False")
    max_step_m = v.scalar("max_step_m", max_step_m, positive=True, unit="m")
    delta_step = v.scalar("delta_step", delta_step, positive=True, maximum=1e-2)
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
            try:
                q.append(_mx.periodic_twiss(m, plane).q)
            except UnstableLatticeError as exc:
                raise UnstableLatticeError(exc.trace, plane, f"at delta = {d:+g}, the chromaticity step; "
                                           "stable on momentum: reduce delta_step or move the tune "
                                           "away from the integer or half integer") from None
        tune[plane] = (start.q, (q[0] - q[1]) / (2 * delta_step))
    slices, ax, _ = out["x"]
    _, ay, _ = out["y"]
    extra = _chromatic_terms(lattice, slices, ax, ay)
    table = pd.DataFrame({
        "name": ["start"] + [sl.name for sl in slices],
        "s_m": np.array([0.0] + [sl.s_end_m for sl in slices]),
        "beta_x_m": ax.beta_m,
        "beta_y_m": ay.beta_m,
        "alpha_x": ax.alpha,
        "alpha_y": ay.alpha,
        "dispersion_x_m": ax.dispersion_m,
        "dispersion_prime_x": ax.dispersion_prime,
        "mu_x_rad": ax.mu_rad,
        "mu_y_rad": ay.mu_rad,
    })
    return _optics(table, "thin-lens matrices" if thin else "thick matrices",
                   q_x=tune["x"][0], q_y=tune["y"][0],
                   dq_x=tune["x"][1] + extra[0], dq_y=tune["y"][1] + extra[1],
                   alpha_c=momentum_compaction_from_matrices(lattice, thin=thin))


def _chromatic_terms(lattice, slices, along_x, along_y):
    """Sum of the elements' chromatic terms beyond k/(1+delta) (see twiss_matrices)."""
    magnets = {mag.name: mag for mag in lattice.magnets}
    total = np.zeros(2)
    for i, sl in enumerate(slices):
        kind = KINDS.get(sl.kind)
        if kind is None or kind.chromatic is None or sl.s_end_m <= sl.s_start_m:
            continue
        mag = magnets[sl.name]
        optics_in = {"beta_x_m": along_x.beta_m[i], "alpha_x": along_x.alpha[i],
                     "beta_y_m": along_y.beta_m[i], "alpha_y": along_y.alpha[i],
                     "dispersion_m": along_x.dispersion_m[i],
                     "dispersion_prime": along_x.dispersion_prime[i]}
        terms = kind.chromatic(kind.matrix_strength(lattice, mag), sl.s_end_m - sl.s_start_m, optics_in,
                               abs(sl.s_start_m - mag.start_m) < 1e-12, abs(sl.s_end_m - mag.end_m) < 1e-12)
        total += (terms.dq_x, terms.dq_y)
    return total


def twiss_three_ways(lattice, *, thin_matrices=True):
    """Optics of a lattice from MAD-X, xtrack and thick (and thin-lens) matrices.

    Each engine builds the lattice from its one description (:mod:`beamkit.lattices`),
    so the results are independent and :func:`compare` shows how far they agree.

    Parameters
    ----------
    lattice : beamkit.lattices.Lattice
    thin_matrices : bool
        Also the thin-lens matrix model (MAD-X ``makethin`` with one slice).

    Returns
    -------
    dict of str to Optics
        Keys ``"MAD-X"``, ``"xtrack"``, ``"thick matrices"`` and ``"thin matrices"``.
    """
    from .lattices import Lattice
    from .madx import session

    if not isinstance(lattice, Lattice):
        raise InputError("lattice", lattice, "must be a beamkit.lattices.Lattice")
    with session() as mad:
        mad.load(lattice)
        from_madx = twiss_madx(mad)
    out = {"MAD-X": from_madx, "xtrack": twiss_xtrack(lattice.to_xtrack()),
           "thick matrices": twiss_matrices(lattice)}
    if thin_matrices:
        out["thin matrices"] = twiss_matrices(lattice, thin=True)
    return out


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
        raise InputError("results", results, "is empty", "give at least one label: Optics pair")
    bad = [lab for lab in labels if not isinstance(results[lab], Optics)]
    if bad:
        raise InputError("results", bad, "are labels of things that are not Optics",
                         "pass the results of optics.twiss_madx, twiss_xtrack or twiss_matrices")
    reference = labels[0] if reference is None else v.choice("reference", reference, labels)
    keys = [keys] if isinstance(keys, str) else list(keys)
    unknown = [k for k in keys if k not in SUMMARY_KEYS]
    if unknown:
        raise InputError("keys", unknown, "are not global quantities of an Optics",
                         f"choose among {SUMMARY_KEYS}")
    data = {lab: [getattr(results[lab], k) for k in keys] for lab in labels}
    frame = pd.DataFrame(data, index=list(keys))
    for lab in labels:
        if lab != reference:
            frame[f"{lab} - {reference}"] = frame[lab] - frame[reference]
    frame.index.name = "quantity"
    return frame
