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


def xtrack_chroma(line):
    q = xtrack_tunes_vs_delta(line)
    return np.array([dq_from_tunes(q[0]), dq_from_tunes(q[1])])


def test_p1_xtrack_default_sextupole_is_one_centre_kick(madx_k2):
    """MAD-X's strengths leave Q' ~ -9e-6 in xtrack: the midpoint-rule error of a single kick."""
    line = corrected_cell(madx_k2["plain"]).to_xtrack()
    assert line["sext1"].num_multipole_kicks == 0  # default: xtrack's single kick
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
    k2_1kick = estimate - np.linalg.solve(a, xtrack_chroma(corrected_cell(estimate).to_xtrack()))
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


def test_p2_uncorrected_source_cell_real_naff_bias_only():
    """The source's uncorrected thin cell (kicks kL/2, -kL, kL/2, 55 m drifts, no bends):
    -0.3360318 from PyNAFF on x at 40 mm; the exact value is -tan(pi Q)/pi."""
    import xtrack as xt

    kl = 0.008 * 3.3
    line = xt.Line(elements=[xt.Multipole(knl=[0, kl / 2]), xt.Drift(length=55.0),
                             xt.Multipole(knl=[0, -kl]), xt.Drift(length=55.0),
                             xt.Multipole(knl=[0, kl / 2])])
    line.particle_ref = xt.Particles(mass0=xt.PROTON_MASS_EV, q0=1, energy0=7e12)
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
    import xtrack as xt

    kl = 0.008 * 3.3
    line = xt.Line(elements=[xt.Multipole(knl=[0, kl / 2]), xt.Drift(length=55.0),
                             xt.Multipole(knl=[0, -kl]), xt.Drift(length=55.0),
                             xt.Multipole(knl=[0, kl / 2])])
    line.particle_ref = xt.Particles(mass0=xt.PROTON_MASS_EV, q0=1, energy0=7e12)
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
    """What twiss_matrices leaves out (it treats sextupoles as drifts): MAD-X's sextupole
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
        cell = lattices.lhc_fodo_cell(bend_angle_rad=theta) if theta else lattices.lhc_fodo_cell(bends_on=False)
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
