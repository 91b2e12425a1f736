"""Homopolar and former-sulfur bonds per frame, to compare what a label file holds with what the loop explores.

    python training/experiments/homopolar_bonds.py FORMULA FILE [FILE ...] [--sample N]

FORMULA is the empirical Hill formula of the frames to count (Li2S3Si: 50Li2S-50SiS2). Bond cutoffs (Å):
S-S 2.3, Si-Si 2.6, P-P 2.4, Si-S 2.6, P-S 2.5: between the first and second neighbour shells of the
crystals. Per frame: atoms, density, the share of S in S-S bonds, Si-Si and P-P bond counts, S neighbours
per Si and per P. Finding of 2026-12-04 (training/README.md, Stage 3 status of 18:30 UTC): every audit glass
frame has S-S bonds (12-33 % of the S atoms in one), the loop's own frames almost none.
"""

from __future__ import annotations

import argparse
import random
from collections import Counter

import numpy as np
from ase.io import iread
from ase.neighborlist import neighbor_list

CUTOFFS = {("S", "S"): 2.3, ("Si", "Si"): 2.6, ("P", "P"): 2.4, ("Si", "S"): 2.6, ("S", "Si"): 2.6,
           ("P", "S"): 2.5, ("S", "P"): 2.5}


def bonds(atoms) -> dict:
    from thioglass.build.crystals import density_g_cm3

    i, j = neighbor_list("ij", atoms, CUTOFFS)
    symbols = np.array(atoms.get_chemical_symbols())
    pairs = Counter(tuple(sorted((symbols[a], symbols[b]))) for a, b in zip(i, j) if a < b)
    count = Counter(symbols)
    return {"atoms": len(atoms), "density_g_cm3": round(density_g_cm3(atoms), 2),
            "S_in_SS": round(2 * pairs[("S", "S")] / max(count["S"], 1), 3),
            "SiSi": pairs[("Si", "Si")], "PP": pairs[("P", "P")],
            "S_per_Si": round(pairs[("S", "Si")] / count["Si"], 2) if count["Si"] else None,
            "S_per_P": round(pairs[("P", "S")] / count["P"], 2) if count["P"] else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("formula")
    parser.add_argument("files", nargs="+")
    parser.add_argument("--sample", type=int, default=8, help="frames per file, drawn with seed 1")
    args = parser.parse_args()
    for path in args.files:
        frames = [a for a in iread(path, index=":") if a.get_chemical_formula("hill", empirical=True) == args.formula]
        random.seed(1)
        print(f"{path}: {len(frames)} frames of {args.formula}")
        for atoms in random.sample(frames, min(args.sample, len(frames))):
            print(" ", bonds(atoms))


if __name__ == "__main__":
    main()
