"""The element kinds of :class:`beamkit.lattices.Lattice`, dispatched in one place.

Each kind says, once, how it is written for MAD-X, built in xtrack, turned into linear
matrices, drawn in a layout and reduced to a thin kick. :mod:`beamkit.lattices`,
:mod:`beamkit.plotting` and the benchmark's numpy tracker look kinds up in ``KINDS``
and never switch on a kind's name. Adding a kind is adding one :class:`ElementKind` here.

Functions receive the placed magnet (``mag``: name, at_m, length_m, strengths) and the
lattice (``lattice.strength(mag, key)`` gives a strength's value).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from . import matrices as _mx

__all__ = ["ElementKind", "KINDS", "SEXTUPOLE_KICKS"]

#: Kicks of a thick xtrack sextupole. xtrack's default (``num_multipole_kicks = 0``) is
#: one kick at the centre (drift-kick-drift), whose midpoint-rule error in Q' is
#: ~9e-6 for the LHC cell and falls as 1/N^2 with N kicks; 64 kicks bring xtrack's Q'
#: to MAD-X's thick sextupole to ~2e-8 (the sextupoles chapter shows the convergence;
#: ``tests/test_review_facts.py::test_p1_*``).
SEXTUPOLE_KICKS = 64


@dataclass(frozen=True)
class ElementKind:
    """How one kind of element is emitted for each engine.

    Attributes
    ----------
    name : str
        The kind, as in ``Magnet.kind`` of :mod:`beamkit.lattices`.
    strength : str or None
        Key of its strength in ``Magnet.strengths`` (``"k1"`` in m^-2, ``"k1l"`` in m^-1,
        ``"angle"`` in rad, ``"k2"`` in m^-3), None for a marker.
    madx_class : str
        MAD-X element class.
    madx_attributes : callable
        ``(mag) -> list of str``: MAD-X attributes other than ``at``.
    xtrack : callable
        ``(env, mag, xt) -> element``: creates the element in an ``xt.Environment``.
    matrix : callable
        ``(strength, length_m, plane, delta) -> 3x3 matrix`` of a piece of length
        ``length_m`` (m) of the element, ``strength`` its strength's value.
    thin_kick : str or None
        For a thin-lens model: ``"quad"`` (a kick of integrated ``k1 l``), ``"sext"``
        (integrated ``k2 l``) or None (a drift; a bend must have angle 0).
    colour : str
        Matplotlib colour in a layout.
    layout_height : float
        Height of its box in a layout strip of half-height 1, drawn above the axis for a
        positive strength and below for a negative one; 0 for a bend (a centred box) or a
        marker (not drawn).
    thinned : bool
        Replaced by a drift, a thin quadrupole kick of its integrated strength and a
        drift in the thin-lens matrix model (MAD-X ``makethin`` with one slice).
    per_length : bool
        Its matrices take the strength per unit length (a bend's angle becomes the
        curvature h = angle / length in rad/m).
    linear_drift : bool
        Its linear optics on the reference orbit are those of a drift (left out of the
        matrices when it has no length).
    chromatic : callable or None
        ``(strength, length_m, optics, starts, ends) -> ChromaticTerms``: its chromaticity
        beyond the ``k/(1+delta)`` focusing of ``matrix``, for a piece of length
        ``length_m`` (m) with entrance optics ``optics`` (a dict of the keyword arguments
        of :func:`beamkit.matrices.sector_bend_chromatic_terms`); ``starts``/``ends`` say
        whether the piece starts/ends at the magnet's face. None when there is none.
    orbit_matrix : callable or None
        ``(strength, length_m, plane, delta, dispersion, starts, ends) -> 3x3 matrix``: the
        piece's off-momentum matrix linearised about the dispersive orbit, ``dispersion``
        = (D, D') at its entrance (:meth:`beamkit.lattices.Lattice.off_momentum_matrices`);
        None when ``matrix`` already is that.
    length_rule : str
        ``"positive"``: a thick element, refused with length 0 (it would vanish in MAD-X
        and xtrack, or divide by zero in the matrices); ``"zero"``: a thin element, refused
        with a length (the matrices would lose the drift); ``"any"``: both are the same in
        the three engines (a marker).
    zero_length_fix : str
        What to use instead when a thick element is given length 0.
    """

    name: str
    strength: str | None
    madx_class: str
    madx_attributes: Callable
    xtrack: Callable
    matrix: Callable
    thin_kick: str | None
    colour: str
    layout_height: float
    thinned: bool = False
    per_length: bool = False
    linear_drift: bool = False
    chromatic: Callable | None = None
    orbit_matrix: Callable | None = None
    length_rule: str = "any"
    zero_length_fix: str = ""

    def matrix_strength(self, lattice, mag):
        """The strength as ``matrix`` takes it (per unit length when ``per_length``)."""
        if self.strength is None:
            return 0.0
        value = lattice.strength(mag, self.strength)
        return value / mag.length_m if self.per_length else value

    def integrated_strength(self, lattice, mag):
        """Integrated strength of the thin kick (``k1 l`` in m^-1 or ``k2 l`` in m^-2)."""
        value = lattice.strength(mag, self.strength)
        return value if self.name == "thin_quadrupole" else value * mag.length_m


def _expr(mag, key):
    return mag.strengths.get(key, 0.0)


def _xexpr(value):
    """xtrack takes numbers as numbers and expressions as strings."""
    return float(value) if isinstance(value, (int, float)) else str(value)


def _drift_matrix(strength, length_m, plane, delta):
    return _mx.drift(length_m)


#: Every element kind a lattice may hold, by name.
KINDS = {
    "quadrupole": ElementKind(
        name="quadrupole", strength="k1", madx_class="quadrupole",
        madx_attributes=lambda mag: [f"l = {mag.length_m!r}", f"k1 := {_expr(mag, 'k1')}"],
        xtrack=lambda env, mag, xt: env.new(mag.name, xt.Quadrupole, length=mag.length_m,
                                            k1=_xexpr(_expr(mag, "k1")), at=mag.at_m),
        matrix=lambda k1, ds, plane, delta: _mx.quadrupole(k1, ds, plane, delta=delta),
        thin_kick="quad", colour="tab:red", layout_height=0.8, thinned=True,
        length_rule="positive", zero_length_fix="use kind 'thin_quadrupole' with k1l (m^-1) for a thin lens"),
    "thin_quadrupole": ElementKind(
        name="thin_quadrupole", strength="k1l", madx_class="multipole",
        madx_attributes=lambda mag: [f"knl := {{0, {_expr(mag, 'k1l')}}}"],
        xtrack=lambda env, mag, xt: env.new(mag.name, xt.Multipole, knl=[0.0, _xexpr(_expr(mag, "k1l"))],
                                            at=mag.at_m),
        matrix=lambda kl, ds, plane, delta: _mx.thin_quadrupole(kl, plane, delta=delta),
        thin_kick="quad", colour="tab:red", layout_height=0.8, length_rule="zero"),
    "sbend": ElementKind(
        name="sbend", strength="angle", madx_class="sbend",
        madx_attributes=lambda mag: [f"l = {mag.length_m!r}", f"angle := {_expr(mag, 'angle')}"],
        xtrack=lambda env, mag, xt: env.new(mag.name, xt.Bend, length=mag.length_m,
                                            angle=_xexpr(_expr(mag, "angle")), k0_from_h=True, at=mag.at_m),
        # A piece ds of a sector bend of curvature h = angle / length bends by h ds.
        matrix=lambda h, ds, plane, delta: _mx.sector_bend(h * ds, ds, plane, delta=delta),
        thin_kick=None, colour="tab:blue", layout_height=0.0, per_length=True,
        # Curvature x dispersion (body) and the pole faces crossed at slope D' delta.
        chromatic=lambda h, ds, optics, starts, ends: _mx.sector_bend_chromatic_terms(
            h * ds, ds, **optics, entrance_edge=starts, exit_edge=ends),
        orbit_matrix=lambda h, ds, plane, delta, disp, starts, ends: _mx.sector_bend_about_orbit(
            h * ds, ds, plane, delta, dispersion_m=disp[0], dispersion_prime=disp[1],
            entrance_edge=starts, exit_edge=ends),
        length_rule="positive", zero_length_fix="a sector bend needs its length; there is no thin bend"),
    "sextupole": ElementKind(
        name="sextupole", strength="k2", madx_class="sextupole",
        madx_attributes=lambda mag: [f"l = {mag.length_m!r}", f"k2 := {_expr(mag, 'k2')}"],
        xtrack=lambda env, mag, xt: env.new(mag.name, xt.Sextupole, length=mag.length_m,
                                            k2=_xexpr(_expr(mag, "k2")),
                                            num_multipole_kicks=SEXTUPOLE_KICKS, at=mag.at_m),
        # Linear optics of a sextupole on the reference orbit: a drift.
        matrix=_drift_matrix,
        thin_kick="sext", colour="tab:green", layout_height=0.5, linear_drift=True,
        # A gradient k2 D delta on the dispersive orbit.
        chromatic=lambda k2, ds, optics, starts, ends: _mx.sextupole_chromatic_terms(k2, ds, **optics),
        orbit_matrix=lambda k2, ds, plane, delta, disp, starts, ends: _mx.sextupole_about_orbit(
            k2, ds, plane, delta, dispersion_m=disp[0], dispersion_prime=disp[1]),
        length_rule="positive", zero_length_fix="k2 is per metre: give the sextupole its length"),
    "marker": ElementKind(
        name="marker", strength=None, madx_class="marker",
        madx_attributes=lambda mag: [],
        xtrack=lambda env, mag, xt: env.new(mag.name, xt.Marker, at=mag.at_m),
        matrix=_drift_matrix,
        thin_kick=None, colour="0.5", layout_height=0.0, linear_drift=True),
}
