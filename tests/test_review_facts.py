"""Facts behind issue 9 (expert review of chapters 1-5), each checked independently.

Every test pins a number that the review states (or corrects one it gets wrong) with an
independent method: closed forms, MAD-X through cpymad, xtrack, NAFF on tracking data,
the field map. The file is self-contained on purpose: of beamkit it uses only
``lattices.lhc_fodo_cell``, ``Lattice.madx_input``, ``Lattice.to_xtrack`` and the public
names of ``beamkit.fieldmap``, so that renaming elsewhere in the library cannot break it.
The point of issue 9 each test belongs to is in its name (``test_p1_...``).

Sources: A. Oeftiger, lecture 6 (2026), the LHC-like cell, its printed MAD-X and PyNAFF
numbers; the PS field-map notes; the physics notes of the project.
"""

import contextlib
import math

import numpy as np
import pytest

from beamkit import lattices
from beamkit.errors import BeamkitWarning

# The source's printed strengths and tracking results (lecture 6).
SOURCE_K2 = (1.27667e-2, -2.53671e-2)
SOURCE_DQ_THIN_40MM = -0.01098794  # np.polyfit slope, PyNAFF on x, one-slice thin cell
SOURCE_Q0_THIN_40MM = 0.25440583
SOURCE_DQ_UNCORRECTED = -0.3360318
SOURCE_Q_THIN_DELTA0 = 0.2585892190147644  # the particle at index npart//2 + 1 (delta = 1e-4)
SOURCE_Q_THICK = 0.2518947018


# ----------------------------------------------------------------------------- helpers
@contextlib.contextmanager
def madx_with(lattice):
    """A cpymad MAD-X process with ``lattice`` loaded and in use; quit afterwards."""
    from cpymad.madx import Madx

    mad = Madx(stdout=False)
    try:
        mad.input(lattice.madx_input())
        mad.use(sequence=lattice.name)
        yield mad
    finally:
        mad.quit()


def madx_match_zero(mad, chrom=False):
    """MAD-X match of both chromaticities to 0 with the two sextupole families.

    ``chrom=False`` is what the source does (``match`` with plain twiss); ``chrom=True``
    is ``match, chrom`` (finite-difference chromaticity)."""
    mad.input(f"""
        match, sequence = fodo{', chrom' if chrom else ''};
        global, sequence = fodo, dq1 = 0, dq2 = 0;
        vary, name = k2sext1, step = 1e-4;
        vary, name = k2sext2, step = 1e-4;
        lmdif, calls = 200, tolerance = 1e-30;
        endmatch;""")
    return np.array([mad.globals.k2sext1, mad.globals.k2sext2])


def madx_summary(mad, extra=""):
    mad.input(f"twiss{extra};")
    # table summ holds full doubles; the twiss table's header (table.twiss.summary) only
    # 10 significant digits, which would hide everything below 1e-11
    s = mad.table.summ
    out = {k: float(s[k][0]) for k in ("q1", "q2", "dq1", "dq2")}
    out["gamma"] = float(mad.table.twiss.summary["gamma"])
    return out


def beta0_of(summary):
    return math.sqrt(1 - 1 / summary["gamma"] ** 2)


DELTAS_FIT = np.linspace(-1e-3, 1e-3, 9)


def poly_fit(deltas, values, order):
    """Least-squares polynomial in the *scaled* variable u = delta / max|delta|.

    Returns the coefficients of delta^0..delta^order and the residual-based standard
    errors of each (the usual least-squares covariance, scaled by the residual rms)."""
    deltas = np.asarray(deltas, float)
    scale = np.max(np.abs(deltas))
    design = np.vander(deltas / scale, order + 1, increasing=True)
    coef, *_ = np.linalg.lstsq(design, values, rcond=None)
    resid = values - design @ coef
    dof = deltas.size - order - 1
    cov = np.full((order + 1,) * 2, np.nan)
    if dof > 0:
        cov = (resid @ resid / dof) * np.linalg.inv(design.T @ design)
    powers = scale ** np.arange(order + 1)
    return coef / powers, np.sqrt(np.diag(cov)) / powers


def madx_tunes_vs_delta(mad, deltas=DELTAS_FIT):
    """MAD-X tunes of the off-momentum closed orbit (``twiss, deltap``; deltap is delta)."""
    q = []
    for d in deltas:
        mad.input(f"twiss, deltap = {float(d)!r};")
        q.append((float(mad.table.summ.q1[0]), float(mad.table.summ.q2[0])))
    return np.array(q).T


def xtrack_tunes_vs_delta(line, deltas=DELTAS_FIT):
    q = []
    for d in deltas:
        tw = line.twiss(method="4d", delta0=float(d))
        q.append((tw.qx, tw.qy))
    return np.array(q).T


def dq_from_tunes(q, deltas=DELTAS_FIT, order=4):
    """Q' as the linear coefficient of an order-4 fit over +-1e-3 (9 points): the
    truncation is Q^(5) delta^4 / 5! ~ 1e-14 for these cells, well below anything pinned."""
    return poly_fit(deltas, q, order)[0][1]


def complex_tune(x, px, beta_m, alpha):
    """NAFF (nafflib) on the complex normalised signal x_n - i p_n, mean removed."""
    import nafflib

    x = np.asarray(x, float) - np.mean(x)
    px = np.asarray(px, float) - np.mean(px)
    z = x / math.sqrt(beta_m) - 1j * (alpha * x + beta_m * px) / math.sqrt(beta_m)
    return float(nafflib.tune(z))


def real_pynaff_tune(x):
    """PyNAFF on the real signal x as the source does it (turns: a multiple of 6 below
    the number of samples, which PyNAFF needs)."""
    import PyNAFF

    x = np.asarray(x, float)
    return float(PyNAFF.naff(x, turns=(x.size - 1) // 6 * 6, nterms=1)[0, 1])


def track_tbt(line, n_turns, **coords):
    import xtrack as xt

    ref = line.particle_ref
    p = xt.Particles(p0c=ref.p0c[0], mass0=ref.mass0, q0=ref.q0, **coords)
    line.track(p, num_turns=n_turns, turn_by_turn_monitor=True)
    assert np.all(p.state > 0)
    mon = line.record_last_track
    return np.array(mon.x), np.array(mon.px)


@pytest.fixture(scope="module")
def madx_k2():
    """MAD-X's matched strengths, plain match (as in the source) and ``match, chrom``."""
    with madx_with(lattices.lhc_fodo_cell(sextupoles=True)) as mad:
        plain = madx_match_zero(mad, chrom=False)
        chrom = madx_match_zero(mad, chrom=True)
    return {"plain": plain, "chrom": chrom}


def corrected_cell(k2):
    return lattices.lhc_fodo_cell(sextupoles=True, k2sext1=float(k2[0]), k2sext2=float(k2[1]))


# ----------------------------------------------------------------------------- point 1
def test_p1_madx_reproduces_source_strengths(madx_k2):
    # The source prints 6 digits: half a unit of the last one.
    for k2 in madx_k2.values():
        assert abs(k2[0] - SOURCE_K2[0]) < 5e-8 and abs(k2[1] - SOURCE_K2[1]) < 5e-8


def sextupole_midpoint_error(line, k2):
    """Q'(one kick at the centre) - Q'(thick sextupole), closed form.

    Inside a sextupole the linear optics is a drift: beta'' = 2 gamma, D'' = 0, so the
    midpoint rule misses l^3/24 (beta D)'' = l^3/24 (2 gamma D - 4 alpha D') per magnet,
    and Q' = +-(1/4 pi) k2 integral(beta D) for x and y."""
    tw = line.twiss(method="4d")
    out = np.zeros(2)
    for name, k in zip(("sext1", "sext2"), k2):
        length = line[name].length
        i = list(tw.name).index(name)
        half = length / 2
        d_c = tw.dx[i] + tw.dpx[i] * half
        for j, (bet, alf) in enumerate(((tw.betx[i], tw.alfx[i]), (tw.bety[i], tw.alfy[i]))):
            gam = (1 + alf**2) / bet
            alf_c = alf - gam * half
            sign = 1 if j == 0 else -1
            out[j] -= sign * k * length**3 / 24 * (2 * gam * d_c - 4 * alf_c * tw.dpx[i]) / (4 * np.pi)
    return out


def single_kick(line):
    """xtrack's default thick sextupole: one kick at the centre (``num_multipole_kicks = 0``)."""
    for name in ("sext1", "sext2"):
        line[name].num_multipole_kicks = 0
    return line


def xtrack_chroma(line):
    q = xtrack_tunes_vs_delta(line)
    return np.array([dq_from_tunes(q[0]), dq_from_tunes(q[1])])


@pytest.mark.slow
def test_p1_xtrack_default_sextupole_is_one_centre_kick(madx_k2):
    """MAD-X's strengths leave Q' ~ -9e-6 in xtrack: the midpoint-rule error of a single kick."""
    line = corrected_cell(madx_k2["plain"]).to_xtrack()
    # beamkit now builds 64 kicks (issue 9, point 1); xtrack's default is 0: one kick
    assert line["sext1"].num_multipole_kicks == 64
    import xtrack as xt

    assert xt.Sextupole(length=1.0, k2=0.0).num_multipole_kicks == 0
    single_kick(line)
    found = xtrack_chroma(line)
    predicted = sextupole_midpoint_error(line, madx_k2["plain"])
    # the review's numbers: -9e-6 in x (xtrack's own dqx says -9.29e-6), +9e-6 in y
    assert -1.0e-5 < found[0] < -9.0e-6 and 8.5e-6 < found[1] < 9.5e-6
    # Closed form vs tracking-free xtrack: what remains is the codes' bent-cell
    # difference in Q'_x (5e-9, see test_p4) and O(k2^2) terms: 2 % of 9e-6 = 2e-7.
    assert np.allclose(found, predicted, rtol=0.02, atol=0)


@pytest.mark.slow
def test_p1_enough_kicks_make_xtrack_agree_with_madx(madx_k2):
    k2 = madx_k2["plain"]
    residual = {}
    for n in (1, 4, 64):
        line = corrected_cell(k2).to_xtrack()
        for name in ("sext1", "sext2"):
            line[name].num_multipole_kicks = n
        residual[n] = xtrack_chroma(line)
    # Midpoint-type convergence, ~1/N^2 of the one-kick error. Q'_y follows it to 1 %
    # (8.874e-6 / N^2 up to N = 1024); Q'_x reaches a floor of -1.3e-8 +- 0.5e-8 from
    # N = 32 on: 5.1e-9 is xtrack's off-momentum twiss on the bent cell (test_p4), the
    # rest a small difference in the thick sextupole on the dispersive orbit.
    assert abs(residual[4][1] * 16 / residual[1][1] - 1) < 0.01
    assert abs(residual[4][0] * 16 / residual[1][0] - 1) < 0.05
    assert abs(residual[64][1] * 64**2 / residual[1][1] - 1) < 0.01
    assert abs(residual[64][0]) < 2.5e-8, residual[64]
    # The matched strengths then agree: Q' is linear in k2 (first-order perturbation
    # theory is exact for a derivative), so one Newton step is the match.
    line = corrected_cell(k2).to_xtrack()
    for name in ("sext1", "sext2"):
        line[name].num_multipole_kicks = 64
    jac = np.empty((2, 2))
    for j, knob in enumerate(("k2sext1", "k2sext2")):
        line.vars[knob] = float(k2[j]) + 1e-3
        jac[:, j] = (xtrack_chroma(line) - residual[64]) / 1e-3
        line.vars[knob] = float(k2[j])
    k2_xtrack = k2 - np.linalg.solve(jac, residual[64])
    # |dQ'/dk2| ~ 25 m^3: the 2.5e-8 floor in Q'_x is 1e-9 m^-3, 1e-7 relative.
    # (The review's ~6e-7 came from xtrack's dqx, whose finite difference is noisy at
    # the 3e-7 level with sextupoles; a polynomial fit of tunes is not.)
    assert np.allclose(k2_xtrack, k2, rtol=2e-7, atol=0), k2_xtrack / k2 - 1


def test_p1_thin_lens_estimate_agrees_with_single_kick_not_with_madx(madx_k2):
    """The chapter's "thin-lens estimate within 3e-5 of xtrack" is circular: the estimate
    evaluates beta and D at the centres, which is exactly xtrack's single-kick model."""
    cell = lattices.lhc_fodo_cell(sextupoles=True)
    line = cell.to_xtrack()
    tw = line.twiss(method="4d")
    a = np.empty((2, 2))
    for j, name in enumerate(("sext1", "sext2")):
        i = list(tw.name).index(name)
        half = line[name].length / 2
        bx = tw.betx[i] - 2 * tw.alfx[i] * half + (1 + tw.alfx[i] ** 2) / tw.betx[i] * half**2
        by = tw.bety[i] - 2 * tw.alfy[i] * half + (1 + tw.alfy[i] ** 2) / tw.bety[i] * half**2
        d = tw.dx[i] + tw.dpx[i] * half
        a[:, j] = np.array([bx * d, -by * d]) * line[name].length / (4 * np.pi)
    estimate = np.linalg.solve(a, -np.array([tw.dqx, tw.dqy]))
    # single-kick xtrack match by one Newton step (Q' linear in k2)
    k2_1kick = estimate - np.linalg.solve(a, xtrack_chroma(single_kick(corrected_cell(estimate).to_xtrack())))
    # estimate vs single-kick xtrack: ~1e-6 relative (second-order k2 terms); vs MAD-X
    # (thick): 2e-5 relative, the midpoint error.
    assert np.allclose(estimate, k2_1kick, rtol=3e-6, atol=0)
    rel_madx = np.abs(estimate / madx_k2["plain"] - 1)
    assert np.all((1.5e-5 < rel_madx) & (rel_madx < 2.5e-5)), rel_madx


# ----------------------------------------------------------------------------- point 4
def test_p4_plain_twiss_is_exact_and_chrom_is_one_sided_difference():
    cell = lattices.lhc_fodo_cell(bends_on=True)
    with madx_with(cell) as mad:
        plain = madx_summary(mad)
        chrom = madx_summary(mad, ", chrom")
        q_madx = madx_tunes_vs_delta(mad)
    beta0 = beta0_of(plain)
    q_xt = xtrack_tunes_vs_delta(cell.to_xtrack())
    for plane, key in ((0, "dq1"), (1, "dq2")):
        coef, _ = poly_fit(DELTAS_FIT, q_madx[plane], 4)
        dq_fit, q2_half = coef[1], coef[2]
        # plain twiss (per pt, times beta0) against the fit of MAD-X's off-momentum
        # tunes: rounding of the tunes (1e-16 / 1e-3 per point) and beta0: 1e-11.
        assert abs(plain[key] * beta0 - dq_fit) < 1e-11
        # twiss, chrom: (Q(1e-6) - Q(0)) / 1e-6 = Q' + (Q''/2) 1e-6 + ...; rounding of a
        # 1e-6 difference of tunes: 1e-16 / 1e-6 = 1e-10. Bound 3e-10 on 4.87e-7.
        assert abs((chrom[key] - plain[key]) * beta0 - q2_half * 1e-6) < 3e-10
        assert 4.8e-7 < (chrom[key] - plain[key]) * beta0 < 4.9e-7
    # xtrack's twiss at delta0 agrees with plain MAD-X in y to rounding; in x it is off
    # by 5.1e-9 on the bent cell, while xtrack *tracking* agrees with MAD-X to 1e-11
    # (test_p7): an artefact of xtrack's off-momentum twiss with thick bends.
    assert abs(dq_from_tunes(q_xt[1]) - plain["dq2"] * beta0) < 1e-11
    assert 3e-9 < abs(dq_from_tunes(q_xt[0]) - plain["dq1"] * beta0) < 8e-9


def test_p4_without_bends_xtrack_agrees_to_rounding():
    cell = lattices.lhc_fodo_cell(bends_on=False)
    with madx_with(cell) as mad:
        plain = madx_summary(mad)
    q_xt = xtrack_tunes_vs_delta(cell.to_xtrack())
    # the source's printed -0.3220961047 (10 digits): and xtrack's fit to 1e-11
    assert abs(plain["dq1"] - (-0.3220961047)) < 5e-10
    assert abs(dq_from_tunes(q_xt[0]) - plain["dq1"] * beta0_of(plain)) < 1e-11


# ----------------------------------------------------------------------------- point 7
@pytest.fixture(scope="module")
def tracked_bent_cell():
    """The chromaticity chapter's experiment: 21 particles, delta in +-1e-3, 0.1 mm off
    their own closed orbits, 1024 turns of the thick bent cell in xtrack."""
    cell = lattices.lhc_fodo_cell(bends_on=True)
    line = cell.to_xtrack()
    tw = line.twiss(method="4d")
    deltas = np.linspace(-1e-3, 1e-3, 21)
    x0 = np.empty_like(deltas)
    px0 = np.empty_like(deltas)
    for i, d in enumerate(deltas):
        co = line.twiss(method="4d", delta0=float(d))
        x0[i], px0[i] = co.x[0], co.px[0]
    x, px = track_tbt(line, 1024, x=x0 + 1e-4, px=px0, delta=deltas)
    tunes = np.array([complex_tune(x[i], px[i], tw.betx[0], tw.alfx[0]) for i in range(deltas.size)])
    with madx_with(cell) as mad:
        plain = madx_summary(mad)
    return {"deltas": deltas, "tunes": tunes, "line": line,
            "madx_dq_x": plain["dq1"] * beta0_of(plain)}


@pytest.mark.slow
def test_p7_residual_errors_measure_misfit_not_accuracy(tracked_bent_cell):
    t = tracked_bent_cell
    exact = t["madx_dq_x"]  # plain MAD-X twiss: exact to 1e-11 (test_p4)
    fits = {order: poly_fit(t["deltas"], t["tunes"], order) for order in (1, 2, 3)}
    dq = {o: f[0][1] for o, f in fits.items()}
    err = {o: f[1][1] for o, f in fits.items()}
    # Linear and quadratic fits share the slope (even terms decouple on a symmetric
    # grid); both miss by the cubic term, (Q'''/6) <d^4>/<d^2> = 5.8e-7.
    assert abs(dq[1] - dq[2]) < 1e-12
    assert 5.5e-7 < abs(dq[2] - exact) < 6.1e-7
    # ...while the quadratic fit claims +-6e-8 (10 sigma off) and the linear +-6e-5.
    assert abs(dq[2] - exact) > 8 * err[2]
    assert 5e-5 < err[1] < 7e-5
    # A cubic fit of the tracked tunes (xtrack) agrees with plain MAD-X twiss to 1.1e-11:
    # NAFF on 1024 clean turns (~1e-14 per tune, / 1e-3 range) and the quintic term.
    assert abs(dq[3] - exact) < 3e-11


# ----------------------------------------------------------------------------- point 2
@pytest.fixture(scope="module")
def source_thin_cell(madx_k2):
    """The source's corrected thin cell: MAD-X makethin, simple style, one slice of every
    quadrupole, sextupole and bend, no dipole edges; strengths from the plain match."""
    import xtrack as xt

    with madx_with(corrected_cell(madx_k2["plain"])) as mad:
        mad.input("""
            select, flag = makethin, class = quadrupole, slice = 1;
            select, flag = makethin, class = sextupole, slice = 1;
            select, flag = makethin, class = sbend, slice = 1;
            makethin, sequence = fodo, style = simple, makedipedge = false;
            use, sequence = fodo;""")
        thin = madx_summary(mad)
        line = xt.Line.from_madx_sequence(mad.sequence.fodo, deferred_expressions=False)
    line.particle_ref = xt.Particles(mass0=xt.PROTON_MASS_EV, q0=1, energy0=7e12)
    return line, thin


def tunes_from_launch(line, amplitude_m, about_closed_orbit, analyser):
    deltas = np.linspace(-1e-3, 1e-3, 21)
    tw = line.twiss(method="4d")
    x0 = np.full_like(deltas, amplitude_m)
    px0 = np.zeros_like(deltas)
    if about_closed_orbit:
        for i, d in enumerate(deltas):
            co = line.twiss(method="4d", delta0=float(d))
            x0[i] += co.x[0]
            px0[i] = co.px[0]
    x, px = track_tbt(line, 1024, x=x0, px=px0, delta=deltas)
    if analyser == "real":
        # the source does not remove the mean; with a 40 mm launch it does not matter
        q = [real_pynaff_tune(x[i] - (x[i].mean() if about_closed_orbit else 0)) for i in range(21)]
    else:
        q = [complex_tune(x[i], px[i], tw.betx[0], tw.alfx[0]) for i in range(21)]
    return deltas, np.array(q)


@pytest.mark.slow
def test_p2_source_number_reproduced_and_explained_by_amplitude(source_thin_cell):
    line, thin = source_thin_cell
    dq_twiss = dq_from_tunes(xtrack_tunes_vs_delta(line)[0])
    # the thin cell's zero-amplitude Q' is the source's MAD-X value -0.01114
    assert abs(dq_twiss - thin["dq1"]) < 1e-6  # xtrack's dqx-free fit vs MAD-X's thin twiss
    assert abs(dq_twiss - (-0.0111406)) < 1e-7
    slope = {}
    for analyser in ("real", "complex"):
        d, q = tunes_from_launch(line, 0.04, False, analyser)
        slope[analyser], q0 = np.polyfit(d, q, 1)
        if analyser == "real":
            # The source's printout, 7 significant digits: reproduced (same model).
            assert abs(slope[analyser] - SOURCE_DQ_THIN_40MM) < 5e-8
            assert abs(q0 - SOURCE_Q0_THIN_40MM) < 5e-9
    # real-signal bias: ~1e-5 (9e-6), not the 1.5e-4 between -0.01099 and -0.01114
    assert 5e-6 < slope["real"] - slope["complex"] < 1.2e-5
    # unbiased complex NAFF at the same 40 mm launch: -0.010997, still 1.4e-4 from twiss
    assert abs(slope["complex"] - (-0.0109967)) < 1e-6
    assert 1.3e-4 < slope["complex"] - dq_twiss < 1.6e-4
    # at 0.1 mm about each particle's closed orbit: complex NAFF and a cubic fit give
    # MAD-X's thin-cell value to 1e-11 (detuning (0.1/40)^2 x 1e-6 and NAFF rounding);
    # the real signal stays within its ~1e-5 bias of the same linear fit
    d, q_c = tunes_from_launch(line, 1e-4, True, "complex")
    assert abs(poly_fit(d, q_c, 3)[0][1] - thin["dq1"] * beta0_of(thin)) < 1e-10
    d, q_r = tunes_from_launch(line, 1e-4, True, "real")
    assert abs(np.polyfit(d, q_r, 1)[0] - np.polyfit(d, q_c, 1)[0]) < 2e-5


def test_p2_mechanism_is_detuning_times_dispersion_at_launch(source_thin_cell):
    """All particles start at x = 40 mm, so the betatron amplitude is 40 mm - D delta;
    the sextupoles' amplitude detuning dQ = c A^2 then varies with delta."""
    line, _ = source_thin_cell
    tw = line.twiss(method="4d")
    d_fixed, q_fixed = tunes_from_launch(line, 0.04, False, "complex")
    d_co, q_co = tunes_from_launch(line, 0.04, True, "complex")
    detuning = q_co[10] - tw.qx  # delta = 0 particle (index 10 here), amplitude 40 mm
    assert -1.3e-6 < detuning < -1.0e-6
    # Q depends on the action J = (gamma x_b^2 + 2 alpha x_b p_b + beta p_b^2)/2 with
    # (x_b, p_b) = (A - D delta, -D' delta): the equivalent amplitude changes by
    # dA/d delta = -(D + alpha D'/gamma). dQ/dA measured at delta = 0 (near 4Q = 1 the
    # detuning is not quadratic in A: 2 dQ/A would be 24 % low).
    gam = (1 + tw.alfx[0] ** 2) / tw.betx[0]
    x, px = track_tbt(line, 1024, x=np.array([0.039, 0.041]), px=np.zeros(2), delta=np.zeros(2))
    q_pm = [complex_tune(x[i], px[i], tw.betx[0], tw.alfx[0]) for i in range(2)]
    dq_da = (q_pm[1] - q_pm[0]) / 0.002
    predicted = dq_da * -(tw.dx[0] + tw.alfx[0] * tw.dpx[0] / gam)
    found = np.polyfit(d_fixed, q_fixed, 1)[0] - np.polyfit(d_co, q_co, 1)[0]
    # first order in D delta / A (5 %): the curvature of Q(A) over +-2.3 mm is second
    # order, ~(5 %)^2 with a large coefficient near the resonance; 3 % tolerance
    assert abs(found / predicted - 1) < 0.03, found / predicted



def source_uncorrected_thin_cell():
    """The source's uncorrected thin cell: kicks kL/2, -kL, kL/2 with k L = 0.008 x 3.3,
    55 m drifts, no bends, 7 TeV protons."""
    import xtrack as xt

    kl = 0.008 * 3.3
    line = xt.Line(elements=[xt.Multipole(knl=[0, kl / 2]), xt.Drift(length=55.0),
                             xt.Multipole(knl=[0, -kl]), xt.Drift(length=55.0),
                             xt.Multipole(knl=[0, kl / 2])])
    line.particle_ref = xt.Particles(mass0=xt.PROTON_MASS_EV, q0=1, energy0=7e12)
    return line

def test_p2_uncorrected_source_cell_real_naff_bias_only():
    """The source's uncorrected thin cell (kicks kL/2, -kL, kL/2, 55 m drifts, no bends):
    -0.3360318 from PyNAFF on x at 40 mm; the exact value is -tan(pi Q)/pi."""
    line = source_uncorrected_thin_cell()
    tw = line.twiss(method="4d")
    exact = -math.tan(math.pi * tw.qx) / math.pi  # thin symmetric FODO: exact
    slope = {a: np.polyfit(*tunes_from_launch(line, 0.04, False, a), 1)[0] for a in ("real", "complex")}
    assert abs(slope["real"] - SOURCE_DQ_UNCORRECTED) < 5e-7
    deltas = np.linspace(-1e-3, 1e-3, 21)
    q_twiss = xtrack_tunes_vs_delta(line, deltas)[0]
    assert abs(poly_fit(deltas, q_twiss, 3)[0][1] - exact) < 1e-10  # twiss = the formula
    # no sextupoles, no detuning: complex NAFF at 40 mm gives the zero-amplitude tunes;
    # the linear fit over +-1e-3 adds its cubic term (6.5e-7) to both alike
    assert abs(slope["complex"] - np.polyfit(deltas, q_twiss, 1)[0]) < 1e-9
    assert 7e-6 < slope["real"] - slope["complex"] < 1.2e-5


# ----------------------------------------------------------------------------- point 13
def test_p13_source_thin_vs_thick_is_200_times_the_index_error():
    line = source_uncorrected_thin_cell()
    tw = line.twiss(method="4d")
    # the source's "delta = 0" particle has delta = +1e-4: its tune is Q(0) + Q' 1e-4
    assert abs(tw.qx + tw.dqx * 1e-4 - SOURCE_Q_THIN_DELTA0) < 5e-7  # 40 mm detuning-free, NAFF 1e-5 bias
    thin_minus_thick = tw.qx - SOURCE_Q_THICK
    index_error = abs(tw.dqx * 1e-4)
    assert 0.0067 < thin_minus_thick < 0.0068
    assert 190 < thin_minus_thick / index_error < 210


# ----------------------------------------------------------------------------- point 5
def quad2(k1, length):
    w = math.sqrt(abs(k1))
    if k1 > 0:
        return np.array([[math.cos(w * length), math.sin(w * length) / w],
                         [-w * math.sin(w * length), math.cos(w * length)]])
    return np.array([[math.cosh(w * length), math.sinh(w * length) / w],
                     [w * math.sinh(w * length), math.cosh(w * length)]])


def drift2(length):
    return np.array([[1.0, length], [0.0, 1.0]])


@pytest.mark.parametrize("length_m", [1.0, 0.1, 0.01])
def test_p5_thick_minus_thin_quadrupole_leading_terms(length_m):
    k1l = 0.05  # the FODO chapter's 1/f
    f = 1 / k1l
    thick = quad2(k1l / length_m, length_m)
    thin = drift2(length_m / 2) @ np.array([[1.0, 0.0], [-k1l, 1.0]]) @ drift2(length_m / 2)
    diff = thick - thin
    # Taylor series: M12 differs by +l^2/(12 f), M21 by +l/(6 f^2), M11 = M22 by l^2/(24 f^2);
    # next orders are smaller by k1 l^2 = l/f <= 0.05: 6 % tolerance.
    assert math.isclose(diff[0, 1], length_m**2 / (12 * f), rel_tol=0.06)
    assert math.isclose(diff[1, 0], length_m / (6 * f**2), rel_tol=0.06)
    assert math.isclose(diff[0, 0], length_m**2 / (24 * f**2), rel_tol=0.06)
    # which entry is largest depends on l f against 2 m^2 (and mixes m with 1/m)
    largest = np.unravel_index(np.argmax(np.abs(diff)), diff.shape)
    if length_m * f > 2.5:
        assert largest == (0, 1)
    elif length_m * f < 1.5:
        assert largest == (1, 0)


def test_p5_analytic_2x2_determinant_is_one_by_construction():
    # cos^2 + sin^2 = 1 (cosh^2 - sinh^2 = 1) for any k1, l: a symplecticity test of
    # these analytic matrices cannot fail; it checks only rounding.
    for k1, length in ((0.3, 2.0), (-0.3, 2.0), (1e-6, 1.0), (50.0, 0.5)):
        assert abs(np.linalg.det(quad2(k1, length)) - 1) < 1e-12


# ----------------------------------------------------------------------------- point 6
ONE_BEND_MADX = """
theta = {angle!r};
onebend: sequence, l = 3.0, refer = centre;
  b: sbend, l = 1.0, angle := theta, at = 1.5;
endsequence;
beam, particle = proton, energy = 7000;
use, sequence = onebend;
"""


def test_p6_positive_madx_angle_bends_towards_minus_x():
    import xtrack as xt
    from cpymad.madx import Madx

    angle = 0.1
    rho = 1.0 / angle
    mad = Madx(stdout=False)
    try:
        mad.input(ONE_BEND_MADX.format(angle=angle))
        mad.input("survey;")
        x_end, theta_end = float(mad.table.survey.x[-1]), float(mad.table.survey.theta[-1])
        # the dispersion a positive bend creates from D = D' = 0 is positive: higher
        # momentum goes to +x, the outside; the centre of curvature is at -x
        mad.input("twiss, betx = 10, bety = 10;")
        d_end = float(mad.table.twiss.dx[-1])
    finally:
        mad.quit()
    # MAD-X's global X starts along the local x: after the bend and the 1 m drift the
    # orbit is at X = -rho (1 - cos angle) - 1 m * sin(angle), and its azimuth is -angle
    assert math.isclose(x_end, -rho * (1 - math.cos(angle)) - 1.0 * math.sin(angle), rel_tol=1e-12)
    assert math.isclose(theta_end, -angle, rel_tol=1e-12)
    assert d_end > 0
    # xtrack: same convention
    env = xt.Environment()
    line = env.new_line(length=3.0, components=[env.new("b", xt.Bend, length=1.0, angle=angle,
                                                        k0_from_h=True, at=1.5)])
    line.particle_ref = xt.Particles(mass0=xt.PROTON_MASS_EV, q0=1, energy0=7e12)
    sv = line.survey()
    assert math.isclose(sv.X[-1], x_end, rel_tol=1e-12)
    assert math.isclose(sv.theta[-1], theta_end, rel_tol=1e-12)


# ----------------------------------------------------------------------------- point 12
def test_p12_unscaled_vandermonde_is_ill_conditioned_not_degenerate():
    for order, span in ((4, 1e-3), (3, 1e-4)):
        deltas = np.linspace(-span, span, 21)
        raw = np.linalg.cond(np.vander(deltas, order + 1, increasing=True))
        scaled = np.linalg.cond(np.vander(deltas / span, order + 1, increasing=True))
        # condition ~ span^-order: above the 1e12 that ChromaticityFit calls "all the
        # same deltas"; scaled it is O(10)
        assert raw > 1e12 and scaled < 20
        # the scaled fit recovers a known polynomial to rounding
        coef = np.array([0.25, -0.3, 0.5, 20.0, 1e3][: order + 1])
        values = np.polyval(coef[::-1], deltas)
        found, _ = poly_fit(deltas, values, order)
        assert abs(found[1] - coef[1]) < 1e-12


# ----------------------------------------------------------------------------- point 9
def test_p9_sextupole_chromaticity_is_the_dispersive_integral_exactly():
    """What twiss_matrices left out before the fix of point 9 (it treated sextupoles as
    drifts; see tests/test_optics_chromatic.py for the fixed version): MAD-X's sextupole
    contribution is (1/4 pi) sum k2 integral(beta D) ds, exactly (first-order perturbation
    theory is exact for a derivative), with the drift-like optics inside each magnet:
    the matched cell's dq_x = 0 while a drift model keeps the bare -0.32183."""
    with madx_with(lattices.lhc_fodo_cell(sextupoles=True)) as mad:
        k2 = madx_match_zero(mad)
        matched = madx_summary(mad)
        table = mad.table.twiss
        names = [n.split(":")[0] for n in table.name]
        beta0 = beta0_of(matched)
        predicted = np.zeros(2)
        for name, k in zip(("sext1", "sext2"), k2):
            i = names.index(name) - 1  # the row before the magnet: its entrance
            length = 1.0
            d, dp = table.dx[i] * beta0, table.dpx[i] * beta0
            for j, (b, a) in enumerate(((table.betx[i], table.alfx[i]), (table.bety[i], table.alfy[i]))):
                g = (1 + a * a) / b
                integral = (b * d * length + (b * dp - 2 * a * d) * length**2 / 2
                            + (g * d - 2 * a * dp) * length**3 / 3 + g * dp * length**4 / 4)
                predicted[j] += (1 if j == 0 else -1) * k * integral / (4 * np.pi)
        mad.input("k2sext1 = 0; k2sext2 = 0;")
        bare = madx_summary(mad)
    assert abs(matched["dq1"]) < 1e-12 and abs(matched["dq2"]) < 1e-12
    assert abs(bare["dq1"] * beta0 - (-0.3218296049)) < 1e-10  # what a drift model returns
    # rounding only (the result is 0.32 on both sides)
    assert abs((matched["dq1"] - bare["dq1"]) * beta0 - predicted[0]) < 1e-13
    assert abs((matched["dq2"] - bare["dq2"]) * beta0 - predicted[1]) < 1e-13


# ----------------------------------------------------------------------------- point 10
LHC_L, LHC_LQ, LHC_LB, LHC_K1 = 110.0, 3.3, 14.3, 0.008
LHC_BEND_CENTRES = (12.0, 27.5, 43.0, 67.0, 82.5, 98.0)


def lhc_cell_pieces(theta):
    """(kind, length, parameter) in beam order: the source's cell, from its numbers."""
    items = [("q", 0.0, LHC_LQ / 2, LHC_K1)]
    items += [("b", c - LHC_LB / 2, LHC_LB, theta / LHC_LB) for c in LHC_BEND_CENTRES[:3]]
    items += [("q", LHC_L / 2 - LHC_LQ / 2, LHC_LQ, -LHC_K1)]
    items += [("b", c - LHC_LB / 2, LHC_LB, theta / LHC_LB) for c in LHC_BEND_CENTRES[3:]]
    items += [("q", LHC_L - LHC_LQ / 2, LHC_LQ / 2, LHC_K1)]
    pieces, s = [], 0.0
    for kind, start, length, p in items:
        if start > s + 1e-12:
            pieces.append(("d", start - s, 0.0))
        pieces.append((kind, length, p))
        s = start + length
    return pieces


def focusing2(k, length):
    if k == 0:
        return drift2(length)
    return quad2(k, length)


def matrix_tune(theta, plane, delta):
    """Tune from 2x2 matrices with only the k/(1+delta) chromatic terms (quadrupoles and
    the bends' weak focusing h^2): what beamkit's matrix optics does."""
    m = np.eye(2)
    for kind, length, p in lhc_cell_pieces(theta):
        if kind == "q":
            k = (p if plane == 0 else -p) / (1 + delta)
        elif kind == "b":
            k = p * p / (1 + delta) if plane == 0 else 0.0
        else:
            k = 0.0
        m = focusing2(k, length) @ m
    mu = math.acos((m[0, 0] + m[1, 1]) / 2)
    return (mu if m[0, 1] > 0 else 2 * math.pi - mu) / (2 * math.pi)


def test_p10_bend_chromatic_terms_are_first_order_in_delta_second_in_angle():
    theta0 = 2 * math.pi / 1232
    missing = {}
    for theta in (theta0, theta0 / 2, 0.0):
        if theta:
            cell = lattices.lhc_fodo_cell(bend_angle_rad=theta)
        else:
            cell = lattices.lhc_fodo_cell(bends_on=False)
        with madx_with(cell) as mad:
            s = madx_summary(mad)
        beta0 = beta0_of(s)
        # same linear optics: tunes agree to rounding
        assert abs(matrix_tune(theta, 0, 0.0) - s["q1"]) < 1e-13
        assert abs(matrix_tune(theta, 1, 0.0) - s["q2"]) < 1e-13
        h = 1e-6  # central difference: truncation ~1e-12 Q''', rounding 1e-16/1e-6 = 1e-10
        dq = [(matrix_tune(theta, p, h) - matrix_tune(theta, p, -h)) / (2 * h) for p in (0, 1)]
        missing[theta] = np.array([s["dq1"] * beta0 - dq[0], s["dq2"] * beta0 - dq[1]])
    # without bends nothing is missing (the central-difference rounding, 1e-10)
    assert np.all(np.abs(missing[0.0]) < 3e-10)
    # with the LHC angle: 3.10e-4 in Q'_x and 2.11e-4 in Q'_y (not "a few 1e-4 in Q'_y" only)
    assert abs(missing[theta0][0] - 3.1019e-4) < 1e-8
    assert abs(missing[theta0][1] - 2.1111e-4) < 1e-8
    # a quarter at half the angle: curvature h times dispersion D ~ h, i.e. terms
    # first order in delta and second order in the bend angle, not "higher-order" ones
    ratio = missing[theta0] / missing[theta0 / 2]
    assert np.allclose(ratio, 4.0, rtol=2e-3), ratio


# ----------------------------------------------------------------------------- field map
P0C_PS_EV = 2.784e9  # protons at 2 GeV kinetic energy
MAP_FILE = "data/ps_like_combined_function_magnet.npz"
REMANENT_FILE = "data/ps_like_combined_function_magnet_remanent.npz"


@pytest.fixture(scope="module")
def ps_map():
    import pathlib

    from beamkit import fieldmap as bf

    root = pathlib.Path(__file__).resolve().parents[1]
    nominal = bf.FieldMap.load(root / MAP_FILE)
    remanent = bf.FieldMap.load(root / REMANENT_FILE)
    length_m = nominal.metadata["length_m"]
    # the chapter's orbit: symmetric, half the sagitta L theta / 8 at the middle
    reference = bf.find_reference_orbit(nominal, P0C_PS_EV, 1.0, x_middle=length_m * 2 * np.pi / 200 / 16)
    return nominal, remanent, reference


@pytest.mark.slow
def test_p3_gradient_integral_along_orbit_exceeds_axis_feed_down_beats_edge(ps_map):
    from beamkit import fieldmap as bf

    nominal, _, reference = ps_map
    b0, b1, b2, b3 = nominal.metadata["b_at_current"]
    along = bf.fit_multipoles(nominal, 3, along=reference)
    axis = bf.fit_multipoles(nominal, 3, z=along.z)
    # the axis integral is b1 times the Enge profile's integral (= L): 1.1 T exactly
    assert abs(axis.integrated_b[1] - b1 * nominal.metadata["length_m"]) < 1e-6
    # along the orbit it is *larger*, 1.10210 T: +2.10e-3 T
    diff = along.integrated_b[1] - axis.integrated_b[1]
    assert abs(along.integrated_b[1] - 1.10210) < 5e-6
    assert 2.05e-3 < diff < 2.15e-3
    # feed-down: the axis field's b1 + b2 x + b3 x^2/2 at the orbit's x(z): +6.07e-3 T
    x_orbit = np.interp(axis.z, reference.z, reference.x)
    feed_down = np.trapezoid(axis.b[2] * x_orbit + axis.b[3] * x_orbit**2 / 2, axis.z)
    assert 6.0e-3 < feed_down < 6.15e-3
    # what remains is the edge term of a straight magnet entered at theta/2,
    # -2 B tan(theta/2) = -4.19e-3 T; the remainder is -3.98e-3 T (5 % less: fringe
    # extent, s versus z, the field's own variation along the tilted slice lines)
    edge = -2 * b0 * math.tan(reference.angle_rad / 2)
    assert abs((diff - feed_down) / edge - 1) < 0.06
    assert feed_down > abs(edge)


def test_p11_truncated_potential_divergence_at_the_map_edge():
    """div B of the series truncated at order K is L T_K = -d/dy (By_{K+1} - By_K): a
    difference of two smooth maps, differentiated in y only (no large field to cancel)."""
    from beamkit import fieldmap as bf

    h = 1e-4
    x = np.linspace(-0.056, 0.056, 29)
    z = np.linspace(0.8, 1.6, 81)

    def max_div(y0):
        y = y0 + h * np.arange(-2, 3)
        # 0.4 mm tall maps: FieldMap's unit check rightly asks whether they were meant in mm
        with pytest.warns(BeamkitWarning, match="spans"):
            k3 = bf.synthetic_combined_function_magnet(x=x, y=y, z=z, expansion_order=3)
        with pytest.warns(BeamkitWarning, match="spans"):
            k4 = bf.synthetic_combined_function_magnet(x=x, y=y, z=z, expansion_order=4)
        # 4th-order accurate central difference of a y^9 term: (h/y)^4 ~ 1e-6 relative
        d = (-(k4.by - k3.by)[:, 4] + 8 * (k4.by - k3.by)[:, 3] - 8 * (k4.by - k3.by)[:, 1]
             + (k4.by - k3.by)[:, 0]) / (12 * h)
        return float(np.max(np.abs(d)))

    # the shipped map's vertical edge is y = 24 mm: ~6e-6 T/m there, not ~1e-9
    edge = max_div(0.024)
    assert 4e-6 < edge < 8e-6
    # it grows like y^7: 1.8e-6 at 20 mm, 1.4e-8 at 10 mm; at the existing Maxwell test's
    # point (y = 15 mm) the truncation is ~2e-7 at most, far below its 1e-5 tolerance,
    # which is set by that test's own central differences
    assert max_div(0.015) < 5e-7
    assert abs(max_div(0.020) / edge - (20 / 24) ** 7) < 0.2 * (20 / 24) ** 7


S4 = np.array([[0, 1, 0, 0], [-1, 0, 0, 0], [0, 0, 0, 1], [0, 0, -1, 0]], float)


def map_jacobian(fieldmap, base, interpolation, eps=1e-6, n_steps=1440):
    """4x4 Jacobian of the field-map tracking at ``base`` by central differences."""
    from beamkit import fieldmap as bf

    keys = ("x", "px", "y", "py")
    starts = {k: [] for k in (*keys, "delta")}
    for kj in keys:
        for sign in (1, -1):
            for k in (*keys, "delta"):
                starts[k].append(base.get(k, 0.0) + (sign * eps if k == kj else 0.0))
    r = bf.track(fieldmap, {k: np.array(v) for k, v in starts.items()}, -1.8, 1.8, n_steps, "rk4",
                 interpolation=interpolation, p0c=P0C_PS_EV, q0=1.0)
    assert not np.any(r.lost)
    out = np.array([getattr(r, k) for k in keys])
    return (out[:, 0::2] - out[:, 1::2]) / (2 * eps)


@pytest.mark.slow
def test_trilinear_defect_is_small_on_the_mid_plane_large_off_it(ps_map):
    nominal, _, reference = ps_map
    defect = {}
    for y0 in (0.0, 0.01):
        base = {"x": reference.entry.x_m, "px": float(reference.px[0]), "y": y0}
        for interp in ("tricubic", "trilinear"):
            m = map_jacobian(nominal, base, interp)
            defect[interp, y0] = float(np.max(np.abs(m.T @ S4 @ m - S4)))
    # on the mid-plane the trilinear interpolant of a mid-plane-symmetric field has no
    # Bx, Bz and a curl-free By(x, z): the defect is 3.7e-7, barely above tricubic; at
    # y = 10 mm the interpolated field is not curl-free and the defect is 1.5e-3
    assert defect["trilinear", 0.0] < 1e-6
    assert 1e-3 < defect["trilinear", 0.01] < 2e-3
    # tricubic stays at the finite-difference level (eps^2 x nonlinear terms, RK4)
    assert defect["tricubic", 0.01] < 1e-7
    assert defect["trilinear", 0.01] > 1e4 * defect["tricubic", 0.01]


@pytest.mark.slow
def test_p8_field_map_beam_moments_total_versus_betatron(ps_map):
    from concurrent.futures import ThreadPoolExecutor

    from beamkit import fieldmap as bf

    nominal, remanent, reference = ps_map
    excitation = bf.LinearExcitation(nominal, remanent)
    # the chapter's beam (its own generator here, same parameters, 20 000 particles)
    rng = np.random.default_rng(20261121)
    n = 20_000
    beta0, alpha0, eps0, d0, sigma_delta = 12.0, 0.6, 1e-6, 2.5, 1e-3
    u = rng.standard_normal((5, n))
    delta = sigma_delta * u[4]
    beam = {"x": math.sqrt(eps0 * beta0) * u[0] + d0 * delta,
            "px": math.sqrt(eps0 / beta0) * (u[1] - alpha0 * u[0]),
            "y": math.sqrt(1e-6 * 8.0) * u[2], "py": math.sqrt(1e-6 / 8.0) * (u[3] - 0.3 * u[2]),
            "delta": delta}
    # the linear map at 400 A from five particles (x, px, delta columns)
    e = 1e-7
    probe = {"x": np.array([0, e, -e, 0, 0, 0, 0]), "px": np.array([0, 0, 0, e, -e, 0, 0]),
             "y": np.zeros(7), "py": np.zeros(7), "delta": np.array([0, 0, 0, 0, 0, e, -e])}
    with ThreadPoolExecutor(1) as pool:
        scans = bf.scan_current([400.0], excitation, beam, reference=reference, n_steps=720,
                                progress=False, executor=pool)
        probes = bf.scan_current([400.0], excitation, probe, reference=reference, n_steps=720,
                                 progress=False, executor=pool)
    r, p = scans.results[0], probes.results[0]
    m3 = np.array([[(c[1] - c[2]) / (2 * e), (c[3] - c[4]) / (2 * e), (c[5] - c[6]) / (2 * e)]
                   for c in (p.x, p.px)])

    def moments(x, px, d=None):
        x = x - x.mean()
        px = px - px.mean()
        if d is not None:  # subtract the dispersive correlation
            d = d - d.mean()
            x = x - np.mean(x * d) / np.mean(d * d) * d
            px = px - np.mean(px * d) / np.mean(d * d) * d
        sxx, spp, sxp = np.mean(x * x), np.mean(px * px), np.mean(x * px)
        eps = math.sqrt(sxx * spp - sxp**2)
        return eps, sxx / eps, -sxp / eps

    total = moments(r.x, r.px)
    betatron = moments(r.x, r.px, r.delta)
    # the betatron emittance is the launched one (1e-6, sampling 1/sqrt(n) ~ 0.7 %)...
    eps_in = moments(beam["x"], beam["px"], beam["delta"])[0]
    assert abs(betatron[0] / eps_in - 1) < 2e-3  # the magnet's nonlinearity on 3.5 mm beams
    # ...the total one is 1.34e-6 (the chapter's "statistical" emittance), alpha 1.10 vs 0.95
    assert 1.30 < total[0] / betatron[0] < 1.36
    assert 0.12 < total[2] - betatron[2] < 0.17
    # both follow from linear transport of the launched sample: M Sigma M^T
    z = np.vstack([beam["x"] - beam["x"].mean(), beam["px"] - beam["px"].mean(), delta - delta.mean()])
    sigma_out = m3 @ (z @ z.T / n) @ m3.T
    eps_lin = math.sqrt(np.linalg.det(sigma_out))
    assert abs(total[0] / eps_lin - 1) < 2e-3
    assert abs(total[2] - (-sigma_out[0, 1] / eps_lin)) < 5e-3
    # betatron Twiss: (beta0, alpha0) through the 2x2 block; the launch alpha alone,
    # carried by a drift of the same path length, would give 0.6 - gamma0 * L
    m2 = m3[:, :2]
    twiss_in = np.array([[beta0, -alpha0], [-alpha0, (1 + alpha0**2) / beta0]])
    twiss_out = m2 @ twiss_in @ m2.T
    assert abs(betatron[2] - (-twiss_out[0, 1])) < 0.02  # sampling of alpha ~ 1/sqrt(n) x 2
    assert abs(betatron[1] / twiss_out[0, 0] - 1) < 0.02


# ----------------------------------------------------------------------------- point 14
def thin_xtrack(line, slices):
    import xtrack as xt

    thin = line.copy(shallow=False)
    thin.slice_thick_elements(slicing_strategies=[xt.Strategy(slicing=None),
                                                  xt.Strategy(slicing=xt.Teapot(slices, mode="thin"))],
                              with_progress=False)
    return thin


def test_p14_chromaticity_chapter_thick_thin_numbers():
    cell = lattices.lhc_fodo_cell(sextupoles=True)
    thick = cell.to_xtrack().twiss(method="4d")
    thin = thin_xtrack(cell.to_xtrack(), 1).twiss(method="4d")
    # prose: 0.0024 in Q_x, 0.006 in Q_y, -0.0035 and -0.014 in Q' (two digits each)
    assert abs(thin.qx - thick.qx - 0.0024) < 0.00005
    assert abs(thin.qy - thick.qy - 0.0060) < 0.00005
    assert abs(thin.dqx - thick.dqx - (-0.0035)) < 0.00005
    assert abs(thin.dqy - thick.dqy - (-0.0143)) < 0.00005
    # prose: MAD-X and xtrack thin models differ by 7e-5 in Q'_y (edges of thin bends)
    with madx_with(cell) as mad:
        mad.input("select, flag = makethin, slice = 1; makethin, sequence = fodo, style = teapot;"
                  "use, sequence = fodo;")
        m = madx_summary(mad)
    assert abs(thin.qx - m["q1"]) < 1e-9
    assert 6e-5 < thin.dqy - m["dq2"] * beta0_of(m) < 7e-5


def first_lost_amplitude(line, amplitudes, n_turns=1024):
    import xtrack as xt

    ref = line.particle_ref
    p = xt.Particles(p0c=ref.p0c[0], mass0=ref.mass0, q0=ref.q0, x=amplitudes, y=1e-6)
    line.track(p, num_turns=n_turns)
    lost = p.state[np.argsort(p.particle_id)] <= 0
    return float(amplitudes[lost].min()) if lost.any() else None


@pytest.mark.slow
def test_p14_sextupoles_chapter_dynamic_aperture_numbers(madx_k2):
    # the chapter's scan: 60 amplitudes 1..300 mm, 1024 turns, ``match, chrom`` strengths
    line = corrected_cell(madx_k2["chrom"]).to_xtrack()
    amplitudes = np.linspace(1e-3, 0.3, 60)
    # 183.4 mm (its own cell prints 183), not the 187 mm of the exercise's solution
    assert abs(first_lost_amplitude(line, amplitudes) - 0.18344) < 1e-4
    # the exercise: quadrupoles scaled by 0.9 (Q_x = 0.221), chromaticity re-matched in
    # xtrack; no loss up to 600 mm is right (first loss 831 mm in a 1..1000 mm scan),
    # but the chapter's own scan stops at 300 mm, so nothing computes "600 mm"
    line = lattices.lhc_fodo_cell(sextupoles=True).to_xtrack()
    for knob in ("k1l_f", "k1l_d"):
        line.vars[knob] = 0.9 * line.vars[knob]._value
    tw = line.twiss(method="4d")
    assert abs(tw.qx - 0.2212) < 1e-4
    jac = np.empty((2, 2))
    base = np.array([tw.dqx, tw.dqy])
    for j, knob in enumerate(("k2sext1", "k2sext2")):
        line.vars[knob] = 1e-3
        t = line.twiss(method="4d")
        jac[:, j] = (np.array([t.dqx, t.dqy]) - base) / 1e-3
        line.vars[knob] = 0.0
    k2 = np.linalg.solve(jac, -base)
    line.vars["k2sext1"], line.vars["k2sext2"] = float(k2[0]), float(k2[1])
    assert first_lost_amplitude(line, np.linspace(1e-3, 0.6, 60)) is None
    assert abs(first_lost_amplitude(line, np.linspace(1e-3, 1.0, 60)) - 0.8307) < 0.02
