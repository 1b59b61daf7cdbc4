"""Generate data/ps_like_combined_function_magnet.npz, the field map the book ships.

A synthetic, Maxwell-consistent map of a PS-like combined-function bending magnet at its
nominal current (see beamkit.fieldmap.synthetic_combined_function_magnet and PS_LIKE for
the parameters). Run from the repository root:

    .venv/bin/python data/make_ps_like_map.py

The remanent map (zero current) is stored beside it, so that any current follows from
beamkit.fieldmap.LinearExcitation. Both files are double precision (compressed npz, about 1.2 MB each).
"""

from pathlib import Path

from beamkit.fieldmap import synthetic_combined_function_magnet

HERE = Path(__file__).resolve().parent


def main():
    nominal = synthetic_combined_function_magnet()
    nominal.save(HERE / "ps_like_combined_function_magnet.npz")
    remanent = synthetic_combined_function_magnet(0.0)
    remanent.save(HERE / "ps_like_combined_function_magnet_remanent.npz")
    print(nominal)
    print(remanent)


if __name__ == "__main__":
    main()
