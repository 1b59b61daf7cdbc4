"""An example ring and writers for MAD-X and pyAT (see :mod:`beamkit.radiation`)."""

from __future__ import annotations

import math

import numpy as np
from scipy import constants as sc
from scipy import optimize

from .. import _validate as v
from ..errors import InputError
from ._ring import _Bend, _body_matrix, _line_model, _matrices, _reference
from ._single import ELECTRON_MASS_EV


# --------------------------------------------------------------------------- an example ring
def fodo_ring(n_cells=24, cell_length_m=10.0, mu_cell_rad=1.3962634015954636, energy_ev=2.5e9, *,
              bend_fill=0.5, quad_length_m=0.4, bend_type="sector", bend_k1=0.0,
              rf_voltage_v=None, harmonic=400, particle="electron"):
    """An electron (positron) FODO ring as an :class:`xtrack.Line`, natively built.

    Each cell: QF/2 - drift - B - drift - QD - drift - B - drift - QF/2, bends of angle
    pi / n_cells each (2 n_cells bends close the ring); QF = -QD strengths are set so that
    the horizontal cell phase advance is ``mu_cell_rad`` (found with beamkit's matrices).

    Parameters
    ----------
    n_cells : int
        Number of cells, >= 4.
    cell_length_m : float
        Cell length (m).
    mu_cell_rad : float
        Horizontal phase advance per cell (rad), in (0, pi); 80 degrees by default.
    energy_ev : float
        Total beam energy (eV).
    bend_fill : float
        Fraction of the half-cell free length (between quadrupoles) filled by the bend, (0, 1).
    quad_length_m : float
        Length of QD (QF is split in two halves) (m).
    bend_type : {"sector", "rectangular"}
        Rectangular bends have pole-face angles of half the bend angle at each end.
    bend_k1 : float
        Gradient k1 of the bends (1/m^2), for combined-function bends.
    rf_voltage_v : float, optional
        Adds an RF cavity (V) at the start, harmonic ``harmonic``, phased for electrons
        above transition; needed by the eigen-analysis codes (xtrack 6D, MAD-X emit, pyAT).
    harmonic : int
        RF harmonic number.
    particle : {"electron", "positron"}

    Returns
    -------
    xtrack.Line
    """
    import xtrack as xt

    n = v.integer("n_cells", n_cells, minimum=4)
    lc = v.scalar("cell_length_m", cell_length_m, positive=True, unit="m")
    mu = v.scalar("mu_cell_rad", mu_cell_rad, greater_than=0.0, maximum=math.pi - 1e-6, unit="rad")
    energy_ev = v.scalar("energy_ev", energy_ev, greater_than=ELECTRON_MASS_EV, unit="eV")
    fill = v.scalar("bend_fill", bend_fill, greater_than=0.0, maximum=1.0)
    lq = v.scalar("quad_length_m", quad_length_m, positive=True, unit="m")
    v.choice("bend_type", bend_type, ("sector", "rectangular"))
    bend_k1 = v.scalar("bend_k1", bend_k1, unit="1/m^2")
    v.choice("particle", particle, ("electron", "positron"))
    harmonic = v.integer("harmonic", harmonic, minimum=1)
    if rf_voltage_v is not None:
        rf_voltage_v = v.scalar("rf_voltage_v", rf_voltage_v, positive=True, unit="V")
    free = lc / 2 - lq
    if free <= 0:
        raise InputError("quad_length_m", lq, f"quadrupoles do not fit in a {lc:g} m cell", "shorten them")
    lb = fill * free
    gap = (free - lb) / 2
    angle = math.pi / n
    edge = angle / 2 if bend_type == "rectangular" else 0.0

    def cell_elements(k1, tag):
        els = [
            (f"qf1{tag}", xt.Quadrupole(length=lq / 2, k1=k1)),
            (f"d1{tag}", xt.Drift(length=gap)),
            (f"b1{tag}", xt.Bend(length=lb, angle=angle, k0_from_h=True, k1=bend_k1,
                                 edge_entry_angle=edge, edge_exit_angle=edge)),
            (f"d2{tag}", xt.Drift(length=gap)),
            (f"qd{tag}", xt.Quadrupole(length=lq, k1=-k1)),
            (f"d3{tag}", xt.Drift(length=gap)),
            (f"b2{tag}", xt.Bend(length=lb, angle=angle, k0_from_h=True, k1=bend_k1,
                                 edge_entry_angle=edge, edge_exit_angle=edge)),
            (f"d4{tag}", xt.Drift(length=gap)),
            (f"qf2{tag}", xt.Quadrupole(length=lq / 2, k1=k1)),
        ]
        return els

    mass_ev = ELECTRON_MASS_EV
    beta0 = math.sqrt(1 - (mass_ev / energy_ev) ** 2)
    q0 = -1 if particle == "electron" else 1

    def make(k1, cells, rf):
        names, elements = [], []
        if rf:
            names.append("rf")
            elements.append(xt.Cavity(voltage=rf_voltage_v, frequency=harmonic * beta0 * sc.c / (n * lc),
                                      phase=math.pi))
        for c in range(cells):
            for nm, el in cell_elements(k1, f"_{c}"):
                names.append(nm)
                elements.append(el)
        line = xt.Line(elements=elements, element_names=names)
        line.particle_ref = xt.Particles(mass0=mass_ev, q0=q0, energy0=energy_ev)
        return line

    def mismatch(k1):
        bend = _Bend(0, "b", lb, angle / lb, bend_k1, edge, edge)
        quad = [_body_matrix(k1, 0.0, lq / 2), _body_matrix(-k1, 0.0, lq)]
        drift = _body_matrix(0.0, 0.0, gap)
        items = [(quad[0], None), (drift, None), bend, (drift, None), (quad[1], None), (drift, None), bend,
                 (drift, None), (quad[0], None)]
        m = np.eye(3)
        for a in _matrices(items)[0]:
            m = a @ m
        return (m[0, 0] + m[1, 1]) / 2 - math.cos(mu)

    # thin-lens start: k1 lq = 4 sin(mu/2) / L; bracket by scanning up to the stability edge
    k_guess = 4 * math.sin(mu / 2) / (lc * lq)
    ks = np.linspace(1e-4, 3, 61) * k_guess
    f = np.array([mismatch(k) for k in ks])
    sign = np.nonzero(np.diff(np.sign(f)) != 0)[0]
    if sign.size == 0:
        raise InputError("mu_cell_rad", mu, "cannot be reached with these cell parameters",
                         "choose a smaller phase advance or longer quadrupoles")
    j = sign[0]
    k1 = optimize.brentq(mismatch, ks[j], ks[j + 1], xtol=1e-15, rtol=1e-14)
    line = make(k1, n, rf_voltage_v is not None)
    return line


def slice_bends(line, n_slices):
    """A copy of ``line`` with every bend cut into ``n_slices`` thick slices (for xtrack's integrals).

    xtrack evaluates its radiation integrals once per element, at the element's entrance;
    slicing the bends is how its answer converges to the exact one.

    Parameters
    ----------
    line : xtrack.Line
        Not modified.
    n_slices : int
        Thick slices per bend (Teapot spacing), >= 1.

    Returns
    -------
    xtrack.Line
    """
    import xtrack as xt

    n = v.integer("n_slices", n_slices, minimum=1)
    if not hasattr(line, "slice_thick_elements"):
        raise InputError("line", line, "must be an xtrack.Line", "build the ring as an xtrack Line")
    out = line.copy()
    out.slice_thick_elements(slicing_strategies=[
        xt.Strategy(slicing=None),
        xt.Strategy(slicing=xt.Teapot(n, mode="thick"), element_type=xt.Bend),
    ])
    return out


# --------------------------------------------------------------------------- other codes
def _element_table(line):
    s = np.asarray(line.get_table().rows[list(line.element_names)].s)
    return [(name, line.element_dict[name], float(s[i])) for i, name in enumerate(line.element_names)]


def to_madx(line, sequence="ring", bend_slices=1):
    """MAD-X input (a sequence and a ``beam`` command) for a line of :func:`fodo_ring`'s kinds.

    Bends become ``sbend`` (``angle``, ``k1``, ``e1``, ``e2``), thick quadrupoles
    ``quadrupole``, thin quadrupoles ``multipole``, cavities ``rfcavity`` (``volt`` in MV,
    ``harmon``, ``lag`` in turns); drifts are left as gaps. The beam is ``radiate``-ready
    (add ``beam, radiate;`` to switch radiation on for ``emit``).

    Two properties of MAD-X matter for the radiation integrals (checked in the tests):
    ``twiss, chrom`` integrates them through each sbend in closed form, but carries the
    dispersion inside the magnet with the focusing h^2 + 2 k1 instead of h^2 + k1
    (``calcsyncint`` in ``twiss.f90``), so for combined-function bends its ``synch_1``,
    ``synch_4`` and ``synch_5`` are wrong (~1% for k1 = -0.01 /m^2 here); ``emit`` samples the
    damping at the two ends of each element, so a thick bend must be cut (``bend_slices``)
    for its partition numbers to converge (error ~1/n^2).

    Parameters
    ----------
    line : xtrack.Line
    sequence : str
        Name of the MAD-X sequence.
    bend_slices : int
        Each bend is written as this many consecutive sbends of equal length (``e1`` on the
        first, ``e2`` on the last), >= 1.

    Returns
    -------
    str
    """
    energy_ev, _, _ = _reference(line)
    if not (isinstance(sequence, str) and sequence.isidentifier()):
        raise InputError("sequence", sequence, "must be a MAD-X name (letters, digits, _)", "e.g. 'ring'")
    bend_slices = v.integer("bend_slices", bend_slices, minimum=1)
    _line_model(line)  # refuses what we cannot write
    out = [f"{sequence}: sequence, l = {float(line.get_length())!r}, refer = entry;"]
    h_total = 0
    for name, el, s in _element_table(line):
        cls = type(el).__name__
        mname = name.replace(".", "_")
        if cls == "Bend":
            n = bend_slices
            length, angle = float(el.length) / n, float(el.angle) / n
            for j in range(n):
                e1 = float(el.edge_entry_angle) if j == 0 else 0.0
                e2 = float(el.edge_exit_angle) if j == n - 1 else 0.0
                piece = mname if n == 1 else f"{mname}_{j}"
                out.append(f"  {piece}: sbend, l = {length!r}, angle = {angle!r}, k1 = {float(el.k1)!r}, "
                           f"e1 = {e1!r}, e2 = {e2!r}, at = {s + j * length!r};")
        elif cls == "Quadrupole":
            out.append(f"  {mname}: quadrupole, l = {float(el.length)!r}, k1 = {float(el.k1)!r}, at = {s!r};")
        elif cls == "Sextupole":
            out.append(f"  {mname}: sextupole, l = {float(el.length)!r}, k2 = {float(el.k2)!r}, at = {s!r};")
        elif cls == "Multipole":
            out.append(f"  {mname}: multipole, knl = {{0, {float(el.knl[1])!r}}}, at = {s!r};")
        elif cls == "Cavity":
            h_total = float(el.frequency) * float(line.get_length()) / sc.c
            lag = (float(el.phase) / (2 * math.pi) + float(el.lag) / 360.0) % 1.0
            out.append(f"  {mname}: rfcavity, l = {float(el.length)!r}, volt = {float(el.voltage) / 1e6!r}, "
                       f"harmon = {round(h_total)}, lag = {lag!r}, at = {s!r};")
        elif cls == "Marker":
            out.append(f"  {mname}: marker, at = {s!r};")
    out.append("endsequence;")
    particle = "electron" if float(line.particle_ref.q0) < 0 else "positron"
    out.append(f"beam, particle = {particle}, energy = {energy_ev / 1e9!r};")
    return "\n".join(out) + "\n"


def to_pyat(line, n_int_steps=10):
    """The same ring as a pyAT ``at.Lattice`` (accelerator-toolbox).

    Parameters
    ----------
    line : xtrack.Line
    n_int_steps : int
        ``NumIntSteps`` of pyAT's 4th-order symplectic integrator in bends and quadrupoles
        (the slicing of its tracking, hence of its envelope emittance).

    Returns
    -------
    at.Lattice
        Radiation off (call ``enable_6d()`` for the envelope).
    """
    import at

    energy_ev, _, _ = _reference(line)
    n_int_steps = v.integer("n_int_steps", n_int_steps, minimum=1)
    _line_model(line)
    els = []
    for name, el, _ in _element_table(line):
        cls = type(el).__name__
        if cls == "Bend":
            els.append(at.Dipole(name, float(el.length), float(el.angle), float(el.k1),
                                 EntranceAngle=float(el.edge_entry_angle),
                                 ExitAngle=float(el.edge_exit_angle), NumIntSteps=n_int_steps))
        elif cls == "Quadrupole":
            els.append(at.Quadrupole(name, float(el.length), float(el.k1), NumIntSteps=n_int_steps))
        elif cls == "Drift":
            els.append(at.Drift(name, float(el.length)))
        elif cls == "Sextupole":
            els.append(at.Sextupole(name, float(el.length), float(el.k2)))
        elif cls == "Multipole":
            els.append(at.ThinMultipole(name, [0.0, 0.0], [0.0, float(el.knl[1])]))
        elif cls == "Cavity":
            h = round(float(el.frequency) * float(line.get_length()) / sc.c)
            els.append(at.RFCavity(name, float(el.length), float(el.voltage), float(el.frequency), h,
                                   energy_ev))
        elif cls == "Marker":
            els.append(at.Marker(name))
    particle = "electron" if float(line.particle_ref.q0) < 0 else "positron"
    return at.Lattice(els, name="ring", energy=energy_ev, periodicity=1, particle=particle)
