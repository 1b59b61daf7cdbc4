"""Published reference values, each with its source, in one place.

Tests and chapters compare beamkit against these numbers; they are never the output of an
earlier beamkit run. Each constant states where it was printed and to how many digits, so
that a tolerance can be derived from it (half a unit of the last printed digit, plus the
platform differences stated where they matter).

LHC-like FODO cell of :cite:p:`oeftiger2026lecture6` (MAD-X 5.09.03 output printed in the
lecture notebook, 10 significant digits unless said otherwise). "Bends off" is the cell
with ``theta = 0``; "bends on" has ``theta = 2 pi / 1232``.
"""

from __future__ import annotations

__all__ = [
    "LECTURE_PRINTED_RTOL",
    "LHC_CELL_Q_X_BENDS_OFF",
    "LHC_CELL_Q_Y_BENDS_OFF",
    "LHC_CELL_DQ1_BENDS_OFF",
    "LHC_CELL_BETX_MAX_M_BENDS_OFF",
    "LHC_CELL_BETY_MAX_M_BENDS_OFF",
    "LHC_CELL_Q_X_BENDS_ON",
    "LHC_CELL_Q_Y_BENDS_ON",
    "LHC_CELL_DQ1_BENDS_ON",
    "LHC_CELL_DQ2_BENDS_ON",
    "LHC_CELL_BETX_MAX_M_BENDS_ON",
    "LHC_CELL_DX_MAX_M_BENDS_ON",
    "LHC_CELL_DX_RMS_M_BENDS_ON",
    "LHC_CELL_ALPHA_C",
    "LHC_CELL_GAMMA_TR",
    "LHC_BEAM_BETA0_7TEV",
    "LHC_CELL_K2SEXT1",
    "LHC_CELL_K2SEXT2",
    "LHC_CELL_K2_PRINTED_ATOL",
    "LHC_CELL_THIN_FORMULA_DQ_X",
    "LHC_CELL_TRACKED_FIT_BENDS_OFF",
    "LHC_CELL_THIN_TRACKED_DQ_X",
    "PS_INJECTION_KINETIC_ENERGY_EV",
    "PS_LIKE_P0C_EV",
]

#: Relative tolerance for the lecture's 10-digit MAD-X output, half a unit of the 10th
#: digit (5e-11) plus the difference between MAD-X 5.09.03 on macOS (the source) and
#: cpymad's MAD-X on Linux.
LECTURE_PRINTED_RTOL = 1e-9

# ---------------------------------------------------------------- bends off (theta = 0)
#: Horizontal tune (MAD-X ``q1``) of the cell without bends.
LHC_CELL_Q_X_BENDS_OFF = 0.2518947018
#: Vertical tune (MAD-X ``q2``) of the cell without bends.
LHC_CELL_Q_Y_BENDS_OFF = 0.2518947018
#: MAD-X ``dq1`` (per p_t; beta0 = 0.999999991 makes it equal to dQ/d delta to 1e-8).
LHC_CELL_DQ1_BENDS_OFF = -0.3220961047
#: MAD-X ``betxmax`` (m), taken at MAD-X's own sample points.
LHC_CELL_BETX_MAX_M_BENDS_OFF = 186.9084848
#: MAD-X ``betymax`` (m).
LHC_CELL_BETY_MAX_M_BENDS_OFF = 186.4581481

# ---------------------------------------------------------------- bends on (2 pi / 1232)
LHC_CELL_Q_X_BENDS_ON = 0.2519723158
LHC_CELL_Q_Y_BENDS_ON = 0.2518947018
LHC_CELL_DQ1_BENDS_ON = -0.3218296078
LHC_CELL_DQ2_BENDS_ON = -0.3218849941
LHC_CELL_BETX_MAX_M_BENDS_ON = 186.8781443
#: MAD-X ``dxmax`` (m).
LHC_CELL_DX_MAX_M_BENDS_ON = 2.249453549
#: MAD-X ``dxrms`` (m).
LHC_CELL_DX_RMS_M_BENDS_ON = 1.634089545
#: Momentum compaction, MAD-X ``alfa``.
LHC_CELL_ALPHA_C = 4.388874913e-4
#: Transition gamma, MAD-X ``gammatr``.
LHC_CELL_GAMMA_TR = 47.73351305
#: Relativistic beta of 7 TeV protons, MAD-X ``beam->beta`` (9 digits printed).
LHC_BEAM_BETA0_7TEV = 0.999999991

# ---------------------------------------------------------------- sextupoles
#: Sextupole strengths (m^-3) that MAD-X ``match, chrom`` finds for Q'_x = Q'_y = 0 in the
#: cell with bends on, as printed in the lecture's match summary (6 significant digits).
LHC_CELL_K2SEXT1 = 1.27667e-2
LHC_CELL_K2SEXT2 = -2.53671e-2
#: Half a unit of the 6th printed digit of the strengths (m^-3).
LHC_CELL_K2_PRINTED_ATOL = 5e-8

# ---------------------------------------------------------------- chromaticity
#: The lecture's thin-lens FODO formula ``-tan(pi q1)/pi`` evaluated with MAD-X's q1 of the
#: cell without bends (16 digits printed).
LHC_CELL_THIN_FORMULA_DQ_X = -0.32212202611662033
#: The lecture's ``np.polyfit(delta, Qx_delta, 1)`` on tunes tracked in the thin (makethin)
#: cell without bends, 40 mm launch: (slope Q'_x, intercept Q_x(0)), 8 digits printed.
LHC_CELL_TRACKED_FIT_BENDS_OFF = (-0.3360318, 0.25862306)
#: The lecture's tracked Q'_x of the one-slice thin cell with the thick-matched strengths
#: (2 significant digits are what the text claims: "about -0.011").
LHC_CELL_THIN_TRACKED_DQ_X = -0.011

# ---------------------------------------------------------------- PS injection
#: Kinetic energy of protons at PS injection (eV), the setting of :cite:p:`psfieldmapnotes`.
PS_INJECTION_KINETIC_ENERGY_EV = 2e9
#: Momentum times c (eV) of 2 GeV kinetic protons, to the 4 digits the book and the shipped
#: map use (the exact value is 2.78444e9 eV with the CODATA 2018 proton mass).
PS_LIKE_P0C_EV = 2.784e9
