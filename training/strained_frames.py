"""Strained copies of labelled frames, for the strain range of issue 6 (±10 %) that NPT exploration at
1 bar does not reach; label them into the same store with ``thioglass label``.

    python training/strained_frames.py STORE OUT.extxyz [--count 200] [--max-strain 0.10] [--seed 7]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from ase.io import write

from thioglass.reference.label import LabelStore


def symmetric_strained(atoms, max_strain: float, rng: np.random.Generator):
    """A copy strained by a random symmetric strain of up to ``max_strain`` per component, atoms scaled
    along (a symmetric strain: rotations change nothing the model can see)."""
    out = atoms.copy()
    strain = rng.uniform(-max_strain, max_strain, (3, 3))
    out.set_cell(np.asarray(atoms.cell) @ (np.eye(3) + (strain + strain.T) / 2), scale_atoms=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("store", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--max-strain", type=float, default=0.10)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    store = LabelStore(args.store)
    keys = sorted(store.keys())
    rng = np.random.default_rng(args.seed)
    frames = []
    for key in rng.choice(keys, size=min(args.count, len(keys)), replace=False):
        atoms, _ = store.load(str(key))
        frames.append(symmetric_strained(atoms, args.max_strain, rng))
    write(args.out, frames, format="extxyz")
    print(f"{len(frames)} strained frames -> {args.out}")


if __name__ == "__main__":
    main()
