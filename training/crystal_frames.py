"""Stage 3 of the training data for the shipped model (issue 6): MD frames of every bundled crystal, and of
freshly quenched glasses, in cells as large as the ones users simulate.

The learning loop seeded the crystals only as rattled unit cells (Li2S: 3 atoms) and explored two of them,
so the first shipped model put whole-cell energy offsets of 40-130 meV/atom on Li2S, P2S5 and Li4P2S6 in
the held-out test set. Here each crystal, in the smallest supercell wider than twice the cutoff, is run
with the current model through NPT at 300 K, 650 K and a 300 -> 1000 K ramp; each glass family is melted,
quenched and held at 300 K and 650 K. Frames are sampled from each stage, a share of them is strained by
up to ``--max-strain`` (symmetric), and all are labelled with the same reference into the training store.

Seeds differ from those of ``make_test_set.py``, and the script refuses to write a frame that is in the
held-out test set (by key), so the test set stays unseen.

    python training/crystal_frames.py MODEL.pb STORE [--workdir DIR] [--test-set default-test-set.extxyz]

Rerunning with the same workdir resumes: finished MD stages and labelled frames are kept.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.io import read, write

from make_test_set import CRYSTALS, GLASSES, GLASS_ATOMS, REFERENCE, crystal_cell, run_system
from strained_frames import symmetric_strained
from thioglass.learn.explore import start_structure
from thioglass.md.protocol import Protocol, Stage
from thioglass.reference.label import LabelStore, frame_key, label_frames

SEED = 9317  # not make_test_set.SEED: no trajectory of the test set is repeated


def crystal_protocol() -> Protocol:
    return Protocol((Stage("hold300", "npt", 2.0, 300.0, dump_every_ps=0.1),
                     Stage("hold650", "npt", 2.0, 650.0, dump_every_ps=0.1),
                     Stage("heat1000", "npt", 2.0, 300.0, 1000.0, dump_every_ps=0.1)), seed=SEED)


def glass_protocol() -> Protocol:
    return Protocol((Stage("melt", "nvt", 2.0, 1700.0, dump_every_ps=0.1),
                     Stage("cool", "npt", 3.0, 1700.0, 300.0, dump_every_ps=0.5),
                     Stage("hold300", "npt", 2.0, 300.0, dump_every_ps=0.1),
                     Stage("hold650", "npt", 2.0, 650.0, dump_every_ps=0.1)), seed=SEED)


def strain_some(frames: list[Atoms], share: float, max_strain: float, rng: np.random.Generator) -> list[Atoms]:
    """Strained copies of a random ``share`` of ``frames`` (symmetric strain, atoms scaled along)."""
    picks = rng.choice(len(frames), size=int(round(share * len(frames))), replace=False)
    out = []
    for i in picks:
        atoms = symmetric_strained(frames[i], max_strain, rng)
        atoms.info["stage"] = f"{atoms.info['stage']}+strain"
        out.append(atoms)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("store", type=Path, help="Training label store to label into.")
    parser.add_argument("--workdir", type=Path, default=Path("crystal-frames-work"))
    parser.add_argument("--test-set", type=Path, help="Held-out extxyz: fail if a new frame is in it.")
    parser.add_argument("--per-stage", type=int, default=6, help="Frames sampled from each crystal stage.")
    parser.add_argument("--glass-per-stage", type=int, default=4, help="Frames sampled from each glass stage.")
    parser.add_argument("--strained-share", type=float, default=0.3)
    parser.add_argument("--max-strain", type=float, default=0.08)
    args = parser.parse_args()
    rng = np.random.default_rng(SEED)
    stability: dict[str, str] = {}
    frames: list[Atoms] = []
    for name in CRYSTALS:
        stages = {s: args.per_stage for s in ("hold300", "hold650", "heat1000")}
        for atoms, stage in run_system(name, crystal_cell(name), crystal_protocol(), stages, args.model,
                                       args.workdir, stability):
            atoms.info.update(system=f"crystal {name}", stage=stage)
            frames.append(atoms)
    for k, composition in enumerate(GLASSES):
        atoms = start_structure(f"glass:{composition}:{GLASS_ATOMS}", seed=SEED + k)
        stages = {s: args.glass_per_stage for s in ("melt", "hold300", "hold650")}
        for frame, stage in run_system(composition, atoms, glass_protocol(), stages, args.model, args.workdir,
                                       stability):
            frame.info.update(system=f"glass {composition}", stage=stage)
            frames.append(frame)
    frames += strain_some(frames, args.strained_share, args.max_strain, rng)
    if args.test_set:
        held_out = {frame_key(a) for a in read(args.test_set, ":")}
        shared = [f for f in frames if frame_key(f) in held_out]
        if shared:
            raise SystemExit(f"{len(shared)} new frames are in the held-out test set {args.test_set}")
    write(args.workdir / "frames.extxyz", frames, format="extxyz")
    report = label_frames(frames, REFERENCE, LabelStore(args.store), progress=True)
    print(f"{len(frames)} frames; labelled {report.labelled}, already done {report.already_done}, "
          f"failed {report.failed}; stability {stability}")


if __name__ == "__main__":
    main()
