"""The ring of thin elements (:class:`Ring`) and its FODO builder (:func:`fodo_ring`)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from .. import _validate as v
from ..errors import InputError
from ._maps import _TWO_PI, _linear_optics


@dataclass(frozen=True, eq=False)
class Ring:
    """A ring of thin elements for sextupole-scan simulations.

    Attributes
    ----------
    elements : tuple of tuple
        ``(kind, name, value)`` with kind ``"drift"`` (value: ``length_m``), ``"quadrupole"``
        (thin, value ``k1l`` in 1/m), ``"dipole"`` (thin sector bend, value ``angle_rad``),
        ``"bpm"`` (an orbit monitor and corrector, value unused), ``"sextupole"`` (thin,
        value index into ``k2l``), ``"cavity"`` (value unused).
    k2l : numpy.ndarray
        Integrated strength of each sextupole as set by the control system (1/m^2).
    calibration : numpy.ndarray
        True strength divided by the set strength, per sextupole (1 for a perfect magnet).
    shift_x_m, shift_y_m : numpy.ndarray
        Misalignment of each sextupole (magnet centre relative to the reference orbit), m.
    sigma_x_m, sigma_y_m : float
        RMS beam sizes used for the superposed beam-size dipole term (0: a single particle).
    rf_kappa_per_m : float
        Linearised RF kick ``delta += rf_kappa_per_m * zeta`` at the cavity (6D only).
    energy_ev : float
        Beam energy (only for the xtrack export).
    """

    elements: tuple
    k2l: np.ndarray
    calibration: np.ndarray
    shift_x_m: np.ndarray
    shift_y_m: np.ndarray
    sigma_x_m: float = 0.0
    sigma_y_m: float = 0.0
    rf_kappa_per_m: float = 0.0
    energy_ev: float = 6.0e9
    _cache: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def n_sextupoles(self):
        """Number of sextupoles."""
        return len(self.k2l)

    @property
    def circumference_m(self):
        """Sum of the drift lengths (m)."""
        return float(sum(val for kind, _, val in self.elements if kind == "drift"))

    @property
    def bpm_names(self):
        """Names of the orbit monitors, in order."""
        return [name for kind, name, _ in self.elements if kind == "bpm"]

    @property
    def sextupole_names(self):
        """Names of the sextupoles, in order."""
        return [name for kind, name, _ in self.elements if kind == "sextupole"]

    def with_changes(self, **changes):
        """A copy with some attributes replaced (arrays copied, the original untouched).

        Accepted: ``k2l``, ``calibration``, ``shift_x_m``, ``shift_y_m`` (one value per
        sextupole), ``sigma_x_m``, ``sigma_y_m``.
        """
        arrays = ("k2l", "calibration", "shift_x_m", "shift_y_m")
        allowed = (*arrays, "sigma_x_m", "sigma_y_m")
        fields = {k: np.array(getattr(self, k), dtype=float) for k in arrays}
        for key, val in changes.items():
            if key not in allowed:
                raise InputError(key, val, "cannot be changed", f"change one of {', '.join(allowed)}")
            if key in arrays:
                fields[key] = v.array(key, np.atleast_1d(val), shape=(self.n_sextupoles,),
                                      positive=key == "calibration",
                                      fix=f"give one value per sextupole ({self.n_sextupoles})")
            else:
                fields[key] = v.scalar(key, val, nonnegative=True, unit="m")
        v.plausible("shift_x_m", float(np.max(np.abs(fields["shift_x_m"]))), 0.0, 0.05, "m",
                    "misalignments are given in metres")
        return replace(self, _cache={}, **fields)

    def _true_k2l_and_b0(self, index):
        """True strength of sextupole ``index`` (1/m^2) and its superposed beam-size dipole b0 (rad)."""
        k2l = self.k2l[index] * self.calibration[index]
        return k2l, 0.5 * k2l * (self.sigma_x_m ** 2 - self.sigma_y_m ** 2)

    def madx_input(self, sequence="ring"):
        """MAD-X input for the same ring: a sequence of thin multipoles, then EALIGN errors.

        Quadrupoles are ``multipole, knl={0, k1l}``, bends ``multipole, knl={angle}``
        (thin bends), sextupoles ``multipole, knl={0, 0, k2l}`` preceded by an ``hkicker`` for
        the beam-size dipole b0, their misalignment given by ``ealign, dx, dy``. BPMs and the cavity
        are markers (use 4D ``twiss``). Call ``beam`` and ``use`` before ``twiss``.
        """
        lines, s_m = [], 0.0
        for kind, name, val in self.elements:
            if kind == "drift":
                s_m += val
                continue
            if kind == "quadrupole":
                body = f"multipole, knl:={{0, {float(val)!r}}}"
            elif kind == "dipole":
                body = f"multipole, knl:={{{float(val)!r}}}"
            elif kind == "sextupole":
                k2l, b0 = self._true_k2l_and_b0(val)
                # MAD-X bends the reference orbit with a multipole's knl(0): the beam-size
                # dipole is a separate kicker (px += kick)
                lines.append(f"{name}_b0: hkicker, kick = {float(-b0)!r}, at = {float(s_m)!r};")
                body = f"multipole, knl:={{0, 0, {float(k2l)!r}}}"
            else:
                body = "marker"
            lines.append(f"{name}: {body}, at = {float(s_m)!r};")
        text = [f"{sequence}: sequence, l = {float(s_m)!r}, refer = centre;", *lines, "endsequence;",
                f"beam, particle = electron, energy = {self.energy_ev / 1e9!r};",
                f"use, sequence = {sequence};"]
        for kind, name, val in self.elements:
            if kind == "sextupole" and (self.shift_x_m[val] or self.shift_y_m[val]):
                text += ["select, flag = error, clear;", f"select, flag = error, pattern = \"^{name}$\";",
                         f"ealign, dx = {float(self.shift_x_m[val])!r}, dy = {float(self.shift_y_m[val])!r};"]
        return "\n".join(text) + "\n"

    def to_xtrack(self, six_d=False):
        """The same ring as an ``xtrack.Line`` (thin multipoles, sextupoles with shifts).

        The beam-size dipole term is superposed as ``knl[0]`` on the sextupole. The RF is not
        exported (use 4D twiss on the returned line).
        """
        import xtrack as xt

        elements, names = [], []
        for kind, name, val in self.elements:
            if kind == "drift":
                elements.append(xt.Drift(length=val))
            elif kind == "quadrupole":
                elements.append(xt.Multipole(knl=[0.0, val]))
            elif kind == "dipole":
                elements.append(xt.Multipole(knl=[val], hxl=val, length=0.0))
            elif kind == "sextupole":
                k2l, b0 = self._true_k2l_and_b0(val)
                elements.append(xt.Multipole(knl=[b0, 0.0, k2l], shift_x=self.shift_x_m[val],
                                             shift_y=self.shift_y_m[val]))
            else:
                elements.append(xt.Marker())
            names.append(name)
        line = xt.Line(elements=elements, element_names=names)
        line.particle_ref = xt.Particles(p0c=self.energy_ev, mass0=xt.ELECTRON_MASS_EV)
        line.build_tracker()
        return line


def _check_ring(ring, sextupole=None):
    """Raise :class:`InputError` unless ``ring`` is a :class:`Ring`; return the checked
    sextupole index (``None`` when none is given)."""
    if not isinstance(ring, Ring):
        raise InputError("ring", ring, "must be a beamkit.sextupole_scan.Ring", "build one with fodo_ring")
    if sextupole is None:
        return None
    return v.integer("sextupole", sextupole, minimum=0, maximum=ring.n_sextupoles - 1)


def fodo_ring(n_cells=8, cell_length_m=10.0, k1l=0.25, k1l_d=0.3, sextupoles="one", k2l=0.0,
              sigma_x_m=0.0, sigma_y_m=0.0, q_s=0.02, energy_ev=6.0e9):
    """A ring of thin FODO cells with thin bends, BPMs at the quadrupoles and sextupoles.

    Each cell is ``QF BPM [SF] D/4 B D/4 QD BPM [SD] D/4 B D/4``; the cavity sits at the start.

    Parameters
    ----------
    n_cells : int
        Number of cells (>= 4); the bend angle is 2 pi / (2 n_cells).
    cell_length_m : float
        Cell length (m).
    k1l, k1l_d : float
        Integrated strengths of the thin focusing and defocusing quadrupoles (1/m), +k1l for
        QF, -k1l_d for QD (different values split the tunes).
    sextupoles : {"one", "all"}
        One sextupole ``sf0`` after the first QF (the source's toy lattice
        :cite:p:`crittenden2025cesr`), or one after every quadrupole.
    k2l : float or array_like
        Set integrated strengths of the sextupoles (1/m^2).
    sigma_x_m, sigma_y_m : float
        RMS beam sizes of the superposed beam-size dipole term (m).
    q_s : float
        Synchrotron tune of the linearised RF (used only by 6D calculations).
    energy_ev : float
        Beam energy (eV), only for the xtrack export.

    Returns
    -------
    Ring
    """
    n_cells = v.integer("n_cells", n_cells, minimum=4)
    cell_length_m = v.scalar("cell_length_m", cell_length_m, positive=True, unit="m")
    k1l = v.scalar("k1l", k1l, positive=True, unit="1/m")
    k1l_d = v.scalar("k1l_d", k1l_d, positive=True, unit="1/m")
    sextupoles = v.choice("sextupoles", sextupoles, ("one", "all"))
    sigma_x_m = v.scalar("sigma_x_m", sigma_x_m, nonnegative=True, unit="m")
    sigma_y_m = v.scalar("sigma_y_m", sigma_y_m, nonnegative=True, unit="m")
    v.plausible("sigma_x_m", sigma_x_m, 0.0, 0.05, "m", "beam sizes are given in metres")
    q_s = v.scalar("q_s", q_s, positive=True, maximum=0.2)
    energy_ev = v.scalar("energy_ev", energy_ev, positive=True, unit="eV")
    angle = np.pi / n_cells
    quarter = cell_length_m / 4.0
    elements = [("cavity", "rf", 0.0)]
    n_sext = 0
    for i in range(n_cells):
        for plane, strength in (("f", k1l), ("d", -k1l_d)):
            elements += [("quadrupole", f"q{plane}{i}", strength), ("bpm", f"bpm{plane}{i}", 0.0)]
            if sextupoles == "all" or (i == 0 and plane == "f"):
                elements.append(("sextupole", f"s{plane}{i}", n_sext))
                n_sext += 1
            elements += [("drift", f"d{plane}{i}a", quarter), ("dipole", f"b{plane}{i}", angle),
                         ("drift", f"d{plane}{i}b", quarter)]
    k2l_arr = np.broadcast_to(v.array("k2l", np.atleast_1d(k2l), ndim=1, unit="1/m^2"),
                              (n_sext,)).copy() if np.size(k2l) in (1, n_sext) else None
    if k2l_arr is None:
        raise InputError("k2l", k2l, f"needs one value or {n_sext} values (one per sextupole)")
    ring = Ring(elements=tuple(elements), k2l=k2l_arr, calibration=np.ones(n_sext),
                shift_x_m=np.zeros(n_sext), shift_y_m=np.zeros(n_sext), sigma_x_m=sigma_x_m,
                sigma_y_m=sigma_y_m, energy_ev=energy_ev)
    # linearised RF giving the requested synchrotron tune: trace = 2 - kappa * alpha_c * C
    alpha_c = _linear_optics(ring)["alpha_c"]
    kappa = (2.0 - 2.0 * np.cos(_TWO_PI * q_s)) / (alpha_c * ring.circumference_m)
    return replace(ring, rf_kappa_per_m=float(kappa), _cache={})
