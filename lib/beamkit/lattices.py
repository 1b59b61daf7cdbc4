"""Lattices of the book, described once and emitted three ways.

A :class:`Lattice` is a plain description: knobs (``variables``), magnet placements
with their strengths written as expressions of the knobs, a particle and an energy.
From it come

* :meth:`Lattice.madx_input`: MAD-X input text (a sequence and a ``beam`` command),
* :meth:`Lattice.to_xtrack`: an :class:`xtrack.Line` built natively (not converted from
  MAD-X), with the same knobs as deferred expressions,
* :meth:`Lattice.transfer_matrices`: the linear matrices of :mod:`beamkit.matrices`.

Because the three are built independently from one description, agreement between
MAD-X, xtrack and the matrices is a real cross-check of each of them. How each element
kind is emitted lives in :mod:`beamkit.elements`; this module (about 610 lines) holds the
description, its validation and the book's cell builders.

The LHC-like FODO cell is that of :cite:p:`oeftiger2026lecture6`.
"""

from __future__ import annotations

import ast
import math
import numbers
import re
from dataclasses import dataclass, field, replace

import numpy as np

from . import _validate as v
from . import matrices as _mx
from .elements import KINDS
from .errors import InputError

__all__ = [
    "Magnet",
    "Lattice",
    "Slice",
    "lhc_fodo_cell",
    "fodo_cell",
    "PARTICLES",
    "LHC_CELL_LENGTH_M",
    "LHC_BEND_ANGLE_RAD",
    "LHC_BEND_LENGTH_M",
    "LHC_QUAD_LENGTH_M",
    "LHC_K1L_PER_M",
]

#: Rest energies (eV) and charges (e) of the particles the builders know. CODATA 2018.
PARTICLES = {
    "proton": (938.27208816e6, 1),
    "electron": (0.51099895000e6, -1),
    "positron": (0.51099895000e6, 1),
}

LHC_CELL_LENGTH_M = 110.0
#: One LHC main dipole bends by 2 pi / 1232 (1232 dipoles in the ring).
LHC_BEND_ANGLE_RAD = 2 * math.pi / 1232
LHC_BEND_LENGTH_M = 14.3
LHC_QUAD_LENGTH_M = 3.3
#: Integrated strength ``|k1 l|`` of one LHC-cell quadrupole (m^-1), from the lecture source.
LHC_K1L_PER_M = 0.008 * 3.3

_KINDS = tuple(KINDS)
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_MATH = {
    name: getattr(math, name)
    for name in ("sin", "cos", "tan", "asin", "acos", "atan", "sqrt", "exp", "log", "pi")
}
#: Names MAD-X predefines (constants); a lattice variable of that name would be read
#: differently by MAD-X and by xtrack or the matrices.
_RESERVED = frozenset(_MATH) | {"twopi", "degrad", "raddeg", "e", "amass", "emass", "nmass",
                                "mumass", "clight", "qelect", "hbar", "erad", "prad"}
#: Expression syntax that MAD-X, xtrack and Python read the same way (no ``**``: MAD-X
#: writes ``^``, which Python reads as exclusive or).
_ALLOWED_NODES = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Name, ast.Load, ast.Add, ast.Sub,
                  ast.Mult, ast.Div, ast.USub, ast.UAdd)


def _names_in(expression, where):
    """The identifiers an expression uses; InputError when it is not a valid expression."""
    try:
        tree = ast.parse(expression, mode="eval")
    except SyntaxError as exc:
        raise InputError(where, expression, f"is not a valid expression ({exc.msg})",
                         "write it with lattice variables, numbers, + - * / and math functions"
                         ) from None
    functions = sorted(n for n in _MATH if n != "pi")
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = node.func.id if isinstance(node.func, ast.Name) else ast.unparse(node.func)
            if name not in functions or node.keywords or len(node.args) != 1:
                raise InputError(where, expression, f"calls {name}(), which MAD-X and xtrack do not share",
                                 f"use one argument of {', '.join(functions)}")
        elif isinstance(node, ast.Name) and node.id == "pi":
            raise InputError(where, expression, "uses pi, which xtrack does not define (KeyError)",
                             "write the number (math.pi) or a lattice variable")
        elif not (isinstance(node, _ALLOWED_NODES)
                  or (isinstance(node, ast.Constant) and _is_number(node.value))):
            what = "**" if isinstance(node, ast.Pow) else type(node).__name__
            raise InputError(where, expression, f"uses {what}, which MAD-X and xtrack do not read alike",
                             f"write it with variables, numbers, + - * / and {', '.join(functions)}")
    called = {node.func.id for node in ast.walk(tree) if isinstance(node, ast.Call)}
    return sorted({node.id for node in ast.walk(tree) if isinstance(node, ast.Name)} - called)


def _is_number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


@dataclass(frozen=True)
class Magnet:
    """One placed element.

    Attributes
    ----------
    name : str
        Lower-case identifier, unique in the lattice (MAD-X and xtrack use it).
    kind : str
        ``"quadrupole"`` (``k1``, m^-2), ``"thin_quadrupole"`` (``k1l``, m^-1),
        ``"sbend"`` (sector bend, ``angle``, rad), ``"sextupole"`` (``k2``, m^-3) or
        ``"marker"``.
    at_m : float
        Position of the element's centre along the cell (m).
    length_m : float
        Magnetic length (m); 0 for thin elements and markers.
    strengths : dict
        Strength name to a number or an expression of the lattice variables, for
        instance ``{"k1": "k1l_f / 3.3"}``.
    """

    name: str
    kind: str
    at_m: float
    length_m: float = 0.0
    strengths: dict = field(default_factory=dict)

    def __post_init__(self):
        if not isinstance(self.name, str):
            raise InputError("name", self.name, "must be a string (a lower-case identifier)")
        object.__setattr__(self, "at_m", v.scalar(f"{self.name}.at_m", self.at_m, unit="m"))
        object.__setattr__(self, "length_m", v.scalar(f"{self.name}.length_m", self.length_m,
                                                      nonnegative=True, unit="m"))
        if not isinstance(self.strengths, dict):
            raise InputError(f"{self.name}.strengths", self.strengths,
                             "must be a dict of strength name to number or expression")
        # A copy: changing the caller's dict afterwards must not change the magnet.
        object.__setattr__(self, "strengths", dict(self.strengths))

    @property
    def start_m(self):
        return self.at_m - self.length_m / 2

    @property
    def end_m(self):
        return self.at_m + self.length_m / 2


@dataclass(frozen=True)
class Slice:
    """A piece of a lattice with its transfer matrix, for optics along ``s``."""

    name: str
    kind: str
    s_start_m: float
    s_end_m: float
    matrix: np.ndarray


@dataclass(frozen=True)
class Lattice:
    """A periodic cell (or line) described once, for MAD-X, xtrack and matrices.

    Use :meth:`with_variables` to change knobs (it returns a new lattice).
    """

    name: str
    length_m: float
    magnets: tuple
    variables: dict
    particle: str = "proton"
    energy_ev: float = 7e12
    description: str = ""

    def __post_init__(self):
        if not isinstance(self.name, str) or not _NAME.match(self.name):
            raise InputError("name", self.name, "must be lower-case letters, digits, _")
        object.__setattr__(self, "length_m", v.scalar("length_m", self.length_m, positive=True, unit="m",
                                                      fix="the cell length must be a positive number (m)"))
        if self.particle not in PARTICLES:
            raise InputError("particle", self.particle, "unknown particle", f"known: {sorted(PARTICLES)}")
        mass_ev = PARTICLES[self.particle][0]
        energy_ev = v.scalar("energy_ev", self.energy_ev, unit="eV")
        if not energy_ev > mass_ev:
            raise InputError(
                "energy_ev", self.energy_ev,
                f"total energy {self.energy_ev:g} eV must exceed the {self.particle} rest energy "
                f"{mass_ev:g} eV"
            )
        object.__setattr__(self, "energy_ev", energy_ev)
        if not isinstance(self.variables, dict):
            raise InputError("variables", self.variables, "must be a dict of knob name to number")
        for key, val in self.variables.items():
            if not isinstance(key, str) or not _NAME.match(key):
                raise InputError("variable name", key, "must be a lower-case identifier")
            if key in _RESERVED:
                raise InputError("variable name", key, "is a MAD-X constant or a math function",
                                 "choose another name")
            v.scalar(f"variables[{key!r}]", val,
                     fix="MAD-X would read NaN as 0 without a word; give a finite number")
        # Copies, so that changing the caller's dict or tuple afterwards does not change the lattice.
        object.__setattr__(self, "variables", {k: float(val) for k, val in self.variables.items()})
        try:
            magnets = tuple(self.magnets)
        except TypeError:
            raise InputError("magnets", self.magnets, "must be a sequence of Magnet") from None
        bad = [m for m in magnets if not isinstance(m, Magnet)]
        if bad:
            raise InputError("magnets", bad[0], "is not a Magnet", "build elements with lattices.Magnet")
        object.__setattr__(self, "magnets", magnets)
        names = set()
        previous_end = 0.0
        for mag in sorted(self.magnets, key=lambda m: m.at_m):
            if mag.kind not in _KINDS:
                raise InputError(f"{mag.name}.kind", mag.kind, "unknown kind", f"known: {_KINDS}")
            if not _NAME.match(mag.name) or mag.name in names:
                raise InputError("magnet name", mag.name, "is not a unique lower-case identifier")
            names.add(mag.name)
            self._check_magnet(mag)
            if mag.start_m < previous_end - 1e-9:
                raise InputError(f"{mag.name}.at_m", mag.at_m,
                                 f"{mag.name} starts at {mag.start_m} m, inside the element before it")
            if mag.end_m > self.length_m + 1e-9:
                raise InputError(f"{mag.name}.at_m", mag.at_m, f"{mag.name} ends at {mag.end_m} m, "
                                 f"beyond the cell length {self.length_m} m")
            previous_end = mag.end_m

    def _check_magnet(self, mag):
        """Length and strengths of one magnet, so that no engine reads a silent zero."""
        kind = KINDS[mag.kind]
        if kind.length_rule == "positive" and not mag.length_m > 0:
            raise InputError(f"{mag.name}.length_m", mag.length_m,
                             f"a {mag.kind} needs a positive length (m); with length 0 it would vanish "
                             "from MAD-X and xtrack or divide by zero in the matrices",
                             kind.zero_length_fix)
        if kind.length_rule == "zero" and mag.length_m != 0:
            raise InputError(f"{mag.name}.length_m", mag.length_m,
                             f"a {mag.kind} is thin: its length must be 0",
                             "use kind 'quadrupole' (k1 in m^-2) for a thick magnet")
        allowed = () if kind.strength is None else (kind.strength,)
        for key, expr in mag.strengths.items():
            where = f"{mag.name}.strengths[{key!r}]"
            if key not in allowed:
                raise InputError(where, expr, f"{key!r} is not a strength of a {mag.kind}",
                                 f"a {mag.kind} takes {list(allowed) or 'no strength'}")
            if isinstance(expr, str):
                unknown = [n for n in _names_in(expr, where) if n not in self.variables and n not in _MATH]
                if unknown:
                    raise InputError(where, expr, f"uses undefined name(s) {unknown} (MAD-X would read "
                                     "them as 0, xtrack raises KeyError)",
                                     f"define them as lattice variables or fix the spelling; variables: "
                                     f"{sorted(self.variables)}")
                self._evaluate(expr, where)
            elif _is_number(expr):
                v.scalar(where, expr, fix="give a finite number")
            else:
                raise InputError(where, expr, "must be a number or an expression string")

    # ---------------------------------------------------------------- values
    @property
    def mass_ev(self):
        """Rest energy of the particle (eV)."""
        return PARTICLES[self.particle][0]

    @property
    def q0(self):
        """Charge of the particle in units of e."""
        return PARTICLES[self.particle][1]

    @property
    def gamma0(self):
        """Relativistic gamma of the reference particle."""
        return self.energy_ev / self.mass_ev

    @property
    def beta0(self):
        """Relativistic beta of the reference particle."""
        return math.sqrt(1.0 - 1.0 / self.gamma0**2)

    @property
    def p0c_ev(self):
        """Reference momentum times c (eV)."""
        return math.sqrt(self.energy_ev**2 - self.mass_ev**2)

    def with_variables(self, **values):
        """A copy with some variables changed, e.g. ``cell.with_variables(theta=0)``."""
        unknown = set(values) - set(self.variables)
        if unknown:
            raise InputError("variables", sorted(unknown), f"unknown lattice variables {sorted(unknown)}",
                             f"known: {sorted(self.variables)}")
        return replace(self, variables={**self.variables, **values})

    def value(self, expression):
        """Numerical value of a number or an expression of the lattice variables."""
        if _is_number(expression):
            return v.scalar("expression", expression)
        if not isinstance(expression, str):
            raise InputError("expression", expression, "must be a number or an expression string")
        unknown = [n for n in _names_in(expression, "expression")
                   if n not in self.variables and n not in _MATH]
        if unknown:
            raise InputError("expression", expression, f"uses an unknown variable: {unknown}",
                             f"variables: {sorted(self.variables)}")
        return self._evaluate(expression, "expression")

    def _evaluate(self, expression, where):
        env = dict(_MATH)
        env.update(self.variables)
        try:
            out = float(eval(expression, {"__builtins__": {}}, env))  # noqa: S307
        except (ArithmeticError, TypeError, ValueError) as exc:
            raise InputError(where, expression, f"cannot be evaluated ({type(exc).__name__}: {exc})",
                             "check the expression and the variables it uses") from None
        if not math.isfinite(out):
            raise InputError(where, expression, f"evaluates to {out}", "give a finite strength")
        return out

    def strength(self, magnet, key):
        return self.value(magnet.strengths.get(key, 0.0))

    # ---------------------------------------------------------------- MAD-X
    def madx_input(self):
        """MAD-X input: variables, the sequence (named ``self.name``) and ``beam``."""
        lines = [f"! {self.description}" if self.description else f"! lattice {self.name}"]
        for key, val in self.variables.items():
            lines.append(f"{key} = {float(val)!r};")
        lines.append(f"{self.name}: sequence, l = {self.length_m!r}, refer = centre;")
        for mag in sorted(self.magnets, key=lambda m: m.at_m):
            kind = KINDS[mag.kind]
            attrs = [*kind.madx_attributes(mag), f"at = {mag.at_m!r}"]
            lines.append(f"  {mag.name}: {kind.madx_class}, " + ", ".join(attrs) + ";")
        lines.append("endsequence;")
        madx_particle = self.particle
        lines.append(f"beam, particle = {madx_particle}, energy = {self.energy_ev / 1e9!r};")
        return "\n".join(lines) + "\n"

    # ---------------------------------------------------------------- xtrack
    def to_xtrack(self, bend_edge_model="full"):
        """Build the lattice as an :class:`xtrack.Line`, natively (not via MAD-X).

        The variables become xtrack knobs (``line.vars``) and the strengths deferred
        expressions of them, so ``line.vars['theta'] = 0`` switches the bends off.
        ``bend_edge_model='full'`` reproduces MAD-X's chromatic edge terms (see the
        notation page): the pole faces crossed at the slope ``D' delta`` of the dispersive
        orbit (:func:`beamkit.matrices.sector_bend_chromatic_terms`), which ``'linear'``
        leaves out. The bends keep xtrack's default core model; its ``'expanded'`` core
        would also leave out their body term ``h x (px^2 + py^2)/2``
        (``tests/test_optics_chromatic.py`` checks both differences against the matrices).
        Thick sextupoles are integrated with :data:`beamkit.elements.SEXTUPOLE_KICKS` (64)
        kicks, not xtrack's default single kick at the centre, which is the thin-lens
        estimate and leaves ~1e-5 in ``Q'`` on the LHC cell (the sextupoles chapter).
        """
        v.choice("bend_edge_model", bend_edge_model, ("full", "linear", "dipole-only", "suppressed"),
                 "'full' reproduces MAD-X's chromatic edge terms")
        import xtrack as xt  # heavy import, only when needed

        env = xt.Environment()
        for key, val in self.variables.items():
            env[key] = float(val)
        ordered = sorted(self.magnets, key=lambda m: m.at_m)
        components = [KINDS[mag.kind].xtrack(env, mag, xt) for mag in ordered]
        line = env.new_line(name=self.name, length=self.length_m, components=components)
        line.particle_ref = xt.Particles(mass0=self.mass_ev, q0=self.q0, energy0=self.energy_ev)
        line.configure_bend_model(edge=bend_edge_model)
        return line

    # ---------------------------------------------------------------- matrices
    def transfer_matrices(self, plane="x", *, thin=False, delta=0.0, max_step_m=None):
        """Linear 3x3 matrices of the lattice in beam order, drifts included.

        Parameters
        ----------
        plane : {"x", "y"}
        thin : bool
            Replace each thick quadrupole by a drift, a thin kick of the same
            integrated strength ``k1 l`` at its centre, and a drift (MAD-X ``makethin``
            with one slice). Bends stay thick sector bends.
        delta : float
            Relative momentum deviation: quadrupole and bend focusing scale as
            ``1/(1 + delta)``. These off-momentum matrices hold only that chromatic
            focusing: not the bends' first-order terms about the dispersive orbit
            (curvature times dispersion, and the pole faces crossed at slope ``D' delta``)
            nor the sextupoles' gradient ``k2 D delta``, which
            :func:`beamkit.optics.twiss_matrices` adds to ``dq_x``, ``dq_y`` by perturbation
            theory (:func:`beamkit.matrices.sector_bend_chromatic_terms`,
            :func:`beamkit.matrices.sextupole_chromatic_terms`), and which
            :meth:`off_momentum_matrices` includes. A chromaticity taken from these
            matrices alone misses them (3.1e-4 / 2.1e-4 on the LHC cell).
        max_step_m : float, optional
            Cut every piece into slices no longer than this, for smooth optics plots.
            Magnets are always cut into an even number of slices, so that their
            centres (where beta peaks in a quadrupole) are slice edges.

        Returns
        -------
        list of Slice
        """
        plane, delta, max_step_m = _check_matrix_args(plane, delta, max_step_m, thin)
        pieces = []
        s = 0.0

        def add_drift(s0, s1, name):
            if s1 - s0 > 1e-12:
                pieces.append((name, "drift", s0, s1, lambda ds: _mx.drift(ds)))

        kick = KINDS["thin_quadrupole"]
        for i, mag in enumerate(sorted(self.magnets, key=lambda m: m.at_m)):
            add_drift(s, mag.start_m, f"drift_{i}")
            kind = KINDS[mag.kind]
            if thin and kind.thinned:
                kl = kind.integrated_strength(self, mag)
                add_drift(mag.start_m, mag.at_m, f"{mag.name}_in")
                pieces.append((mag.name, kick.name, mag.at_m, mag.at_m,
                               lambda ds, kl=kl: kick.matrix(kl, ds, plane, delta)))
                add_drift(mag.at_m, mag.end_m, f"{mag.name}_out")
            elif mag.length_m > 0 or not kind.linear_drift:
                k = kind.matrix_strength(self, mag)
                pieces.append((mag.name, kind.name, mag.start_m, mag.end_m,
                               lambda ds, k=k, kind=kind: kind.matrix(k, ds, plane, delta)))
            s = mag.end_m
        add_drift(s, self.length_m, "drift_end")

        out = []
        for name, kind, s0, s1, make in pieces:
            if s1 == s0:
                n = 1
            elif kind == "drift":
                n = 1 if max_step_m is None else max(1, math.ceil((s1 - s0) / max_step_m))
            else:  # an even number of slices, so that the element centre is a slice edge
                n = 2 if max_step_m is None else 2 * max(1, math.ceil((s1 - s0) / (2 * max_step_m)))
            edges = np.linspace(s0, s1, n + 1)
            for a, b in zip(edges[:-1], edges[1:]):
                out.append(Slice(name, kind, float(a), float(b), make(b - a)))
        return out

    def off_momentum_matrices(self, plane="x", delta=0.0, *, thin=False, max_step_m=None):
        """Off-momentum matrices linearised about the dispersive closed orbit, in beam order.

        :meth:`transfer_matrices` at ``delta`` scales the focusing as ``k/(1+delta)`` only.
        Here the bends and sextupoles are replaced by their matrices about the orbit
        ``x = D delta``, ``x' = D' delta`` (D the periodic dispersion of the on-momentum
        cell): the bends' curvature-times-dispersion terms and pole faces
        (:func:`beamkit.matrices.sector_bend_about_orbit`) and the sextupoles' gradient
        ``k2 D delta`` (:func:`beamkit.matrices.sextupole_about_orbit`). The matrices are
        correct to first order in ``delta``, so a central difference of their tunes gives
        the chromaticity MAD-X's plain ``twiss`` reports; for larger ``delta`` the second
        order (second-order dispersion, the chromatic amplitude terms) is missing.

        Parameters
        ----------
        plane : {"x", "y"}
        delta : float
            Relative momentum deviation (1), small (``|delta| <= 1e-2`` is allowed; the
            result is first order in it).
        thin, max_step_m
            As in :meth:`transfer_matrices` (the slicing is the same).

        Returns
        -------
        list of Slice
        """
        delta = v.scalar("delta", delta, minimum=-1e-2, maximum=1e-2,
                         fix="the matrices are first order in delta: use a small step (1e-6 .. 1e-3)")
        pieces = self.transfer_matrices(plane, thin=thin, delta=delta, max_step_m=max_step_m)
        on_momentum_x = self.transfer_matrices("x", thin=thin, max_step_m=max_step_m)
        start = _mx.periodic_twiss(_mx.line_matrix(sl.matrix for sl in on_momentum_x), "x")
        disp = np.array([start.dispersion_m, start.dispersion_prime])
        magnets = {mag.name: mag for mag in self.magnets}
        out = []
        for sl, sx in zip(pieces, on_momentum_x):
            kind = KINDS.get(sl.kind)
            if kind is not None and kind.orbit_matrix is not None and sl.s_end_m > sl.s_start_m:
                mag = magnets[sl.name]
                matrix = kind.orbit_matrix(kind.matrix_strength(self, mag), sl.s_end_m - sl.s_start_m, plane,
                                           delta, (float(disp[0]), float(disp[1])),
                                           abs(sl.s_start_m - mag.start_m) < 1e-12,
                                           abs(sl.s_end_m - mag.end_m) < 1e-12)
                sl = replace(sl, matrix=matrix)
            out.append(sl)
            disp = sx.matrix[:2, :2] @ disp + sx.matrix[:2, 2]
        return out

    def one_turn_matrix(self, plane="x", *, thin=False, delta=0.0):
        """3x3 matrix of the whole cell from its start, in ``(x, x', delta)``."""
        _check_matrix_args(plane, delta, None, thin)
        return _mx.line_matrix(sl.matrix for sl in self.transfer_matrices(plane, thin=thin, delta=delta))


def _check_matrix_args(plane, delta, max_step_m, thin=False):
    if not isinstance(thin, (bool, np.bool_)):
        raise InputError("thin", thin, "must be True or False")
    plane = v.choice("plane", plane, ("x", "y"))
    delta = v.scalar("delta", delta, greater_than=-1.0,
                     fix="delta = (p - p0)/p0 > -1 (delta = -1 is a particle at rest)")
    max_step_m = v.scalar("max_step_m", max_step_m, positive=True, unit="m", allow_none=True,
                          fix="give the longest slice in m, or None for whole elements")
    return plane, delta, max_step_m


def lhc_fodo_cell(*, bends_on=True, bend_angle_rad=LHC_BEND_ANGLE_RAD, energy_ev=7e12,
                  sextupoles=False, k2sext1=0.0, k2sext2=0.0):
    """The LHC-like FODO cell of the lecture source, 110 m long.

    Half a focusing quadrupole (1.65 m) at each end, a defocusing quadrupole (3.3 m) in
    the middle, ``|k1 l| = 0.008 * 3.3`` m^-1 for a full quadrupole, and six 14.3 m
    sector bends centred at 12, 27.5, 43, 67, 82.5 and 98 m. Protons at 7 TeV total
    energy.

    Parameters
    ----------
    bends_on : bool
        Sets the knob ``theta`` to ``bend_angle_rad`` (True) or 0 (False).
    bend_angle_rad : float
        Angle of one bend; 2 pi / 1232 as in the LHC.
    energy_ev : float
        Total energy of the protons (eV).
    sextupoles : bool
        Add the source's two 1 m chromaticity sextupoles ``sext1`` (next to the
        focusing quadrupole, at 2.65 m) and ``sext2`` (next to the defocusing one,
        at 57.65 m), with strengths ``k2 = k2sext1`` and ``k2sext2`` (m^-3).

    Returns
    -------
    Lattice
        Knobs ``k1l_f``, ``k1l_d`` (m^-1), ``theta`` (rad) and, with sextupoles,
        ``k2sext1``, ``k2sext2``.
    """
    L, lq = LHC_CELL_LENGTH_M, LHC_QUAD_LENGTH_M
    variables = {"k1l_f": LHC_K1L_PER_M, "k1l_d": -LHC_K1L_PER_M,
                 "theta": bend_angle_rad if bends_on else 0.0}
    mags = [
        Magnet("qf_start", "quadrupole", lq / 4, lq / 2, {"k1": f"k1l_f / {lq!r}"}),
        Magnet("qd", "quadrupole", L / 2, lq, {"k1": f"k1l_d / {lq!r}"}),
        Magnet("qf_end", "quadrupole", L - lq / 4, lq / 2, {"k1": f"k1l_f / {lq!r}"}),
    ]
    centres = [12.0, 2 * L / 8, L / 2 - 12, L / 2 + 12, 6 * L / 8, L - 12]
    for i, at in enumerate(centres, start=1):
        mags.append(Magnet(f"mb{i}", "sbend", at, LHC_BEND_LENGTH_M, {"angle": "theta"}))
    if sextupoles:
        variables.update(k2sext1=float(k2sext1), k2sext2=float(k2sext2))
        mags.append(Magnet("sext1", "sextupole", lq / 2 + 1, 1.0, {"k2": "k2sext1"}))
        mags.append(Magnet("sext2", "sextupole", L / 2 + lq / 2 + 1, 1.0, {"k2": "k2sext2"}))
    return Lattice("fodo", L, tuple(mags), variables, "proton", energy_ev,
                   "LHC-like FODO cell (Oeftiger 2026, lecture 6)")


def fodo_cell(length_m, focal_length_m, *, quad_length_m=0.0, bend_angle_rad=0.0,
              bend_length_m=None, focal_length_d_m=None, particle="proton", energy_ev=7e12):
    """A general symmetric FODO cell, starting and ending in the middle of QF.

    Parameters
    ----------
    length_m : float
        Cell length L (m); QF halves at both ends, QD at L/2.
    focal_length_m : float
        Focal length f of the whole focusing quadrupole (m), ``k1 l = 1/f``.
    quad_length_m : float
        Length of QD (QF has two halves of half this length). 0 gives thin
        quadrupoles (``thin_quadrupole``, MAD-X ``multipole``).
    bend_angle_rad : float
        Total bending angle of the cell, shared by two sector bends centred at L/4 and
        3L/4 (knob ``theta`` is the angle of one bend).
    bend_length_m : float, optional
        Length of each bend; by default half the free space of a half cell.
    focal_length_d_m : float, optional
        Focal length of QD (as a positive number); by default ``focal_length_m``.
    particle, energy_ev
        Beam particle (``"proton"``, ``"electron"``, ``"positron"``) and total energy (eV).

    Returns
    -------
    Lattice
        Knobs ``k1l_f``, ``k1l_d`` (m^-1) and ``theta`` (rad).
    """
    length_m = v.scalar("length_m", length_m, positive=True, unit="m", fix="the cell length must be positive")
    focal_length_m = v.scalar("focal_length_m", focal_length_m, positive=True, unit="m",
                              fix="give QF's focal length as a positive number")
    fd = v.scalar("focal_length_d_m", focal_length_m if focal_length_d_m is None else focal_length_d_m,
                  positive=True, unit="m", fix="it is the magnitude of QD's focal length: give it positive")
    lq = v.scalar("quad_length_m", quad_length_m, nonnegative=True, unit="m")
    bend_angle_rad = v.scalar("bend_angle_rad", bend_angle_rad, unit="rad")
    bend_length_m = v.scalar("bend_length_m", bend_length_m, positive=True, unit="m", allow_none=True)
    free_half = length_m / 2 - lq
    if free_half <= 0:
        raise InputError("quad_length_m", lq, f"quadrupoles of {lq} m do not fit in a {length_m} m cell")
    lb = free_half / 2 if bend_length_m is None else float(bend_length_m)
    if bend_angle_rad and not 0 < lb < free_half:
        raise InputError("bend_length_m", lb, f"bend length {lb} m must be positive and below {free_half} m")
    variables = {"k1l_f": 1.0 / focal_length_m, "k1l_d": -1.0 / fd, "theta": bend_angle_rad / 2}
    if lq > 0:
        mags = [
            Magnet("qf_start", "quadrupole", lq / 4, lq / 2, {"k1": f"k1l_f / {lq!r}"}),
            Magnet("qd", "quadrupole", length_m / 2, lq, {"k1": f"k1l_d / {lq!r}"}),
            Magnet("qf_end", "quadrupole", length_m - lq / 4, lq / 2, {"k1": f"k1l_f / {lq!r}"}),
        ]
    else:
        mags = [
            Magnet("qf_start", "thin_quadrupole", 0.0, 0.0, {"k1l": "k1l_f / 2"}),
            Magnet("qd", "thin_quadrupole", length_m / 2, 0.0, {"k1l": "k1l_d"}),
            Magnet("qf_end", "thin_quadrupole", length_m, 0.0, {"k1l": "k1l_f / 2"}),
        ]
    if bend_angle_rad:
        mags.append(Magnet("mb1", "sbend", length_m / 4, lb, {"angle": "theta"}))
        mags.append(Magnet("mb2", "sbend", 3 * length_m / 4, lb, {"angle": "theta"}))
    return Lattice("fodo", float(length_m), tuple(mags), variables, particle, energy_ev,
                   f"FODO cell, L = {length_m} m, f = {focal_length_m} m")
