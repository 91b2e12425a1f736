"""Recipe for the shipped model's held-out test set (issue 6).

The frames come from MD with the model under test, which none of its training frames did: every
glass family is melted at 1700 K, quenched and held at 300 K and 650 K (the conductivity range),
every bundled crystal is heated from 300 K to 650 K. Frames are taken from the second half of each
hold, labelled with the same reference as the training data, and written to one extxyz whose
``family``, ``system`` and ``stage`` keys let ``thioglass test-model --group-by family`` report the
accuracy per family. A run that blows up is itself a finding: it is reported and its frames are
skipped. Seeds differ from the learning run's, so no structure can coincide with a training frame;
the script checks that by key against the training store when one is given.

    python training/make_test_set.py MODEL.pb OUT.extxyz [--workdir DIR] [--train-store DIR] [--quick]
        [--seed N] [--keep OLD.extxyz]

``--keep`` carries an earlier test set (from an earlier model's MD) into OUT as it is, so a retrained
model is measured on both; every frame is tagged with the model whose MD made it (``source``).

Rerunning with the same workdir resumes (MD stages and labels are both kept on disk).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.calculators.singlepoint import SinglePointCalculator
from ase.io import read, write

from thioglass.build.crystals import load_crystal
from thioglass.errors import ThioglassError
from thioglass.io import iter_frames
from thioglass.learn.explore import start_structure
from thioglass.md.lammps import LammpsEngine, LammpsSettings
from thioglass.md.protocol import Protocol, Stage
from thioglass.reference.label import LabelStore, frame_key, label_frames

REFERENCE = "sevennet-mf-0-r2scan"
GLASSES = {"67Li2S-33P2S5": "Li2S-P2S5", "70Li2S-30P2S5": "Li2S-P2S5", "75Li2S-25P2S5": "Li2S-P2S5",
           "50Li2S-50SiS2": "Li2S-SiS2", "67Li2S-33SiS2": "Li2S-SiS2", "60Li2S-32SiS2-8P2S5": "Li2S-SiS2-P2S5"}
CRYSTALS = {"Li2S": "Li2S", "SiS2": "Li2S-SiS2", "P2S5": "Li2S-P2S5", "beta-Li3PS4": "Li2S-P2S5",
            "Li4P2S6": "Li2S-P2S5", "Li7P3S11": "Li2S-P2S5", "Li7PS6": "Li2S-P2S5",
            "Li10SiP2S12": "Li2S-SiS2-P2S5"}
GLASS_ATOMS = 96
MIN_WIDTH_ANGSTROM = 10.2  # twice the model's 5 Å cutoff
SEED = 4242


def glass_protocol(quick: bool, seed: int = SEED) -> Protocol:
    scale = 0.25 if quick else 1.0
    dump = 0.25 * scale
    return Protocol((Stage("melt", "nvt", 3.0 * scale, 1700.0, dump_every_ps=dump),
                     Stage("cool", "npt", 4.0 * scale, 1700.0, 300.0, dump_every_ps=1.0),
                     Stage("hold300", "npt", 3.0 * scale, 300.0, dump_every_ps=dump),
                     Stage("hold650", "npt", 3.0 * scale, 650.0, dump_every_ps=dump)), seed=seed)


def crystal_protocol(quick: bool, seed: int = SEED) -> Protocol:
    scale = 0.25 if quick else 1.0
    return Protocol((Stage("heat", "npt", 3.0 * scale, 300.0, 650.0, dump_every_ps=0.25 * scale),), seed=seed)


def crystal_cell(name: str) -> Atoms:
    """The smallest supercell whose perpendicular widths all exceed twice the cutoff."""
    unit = load_crystal(name)
    widths = unit.cell.volume / np.linalg.norm(np.cross(unit.cell[[1, 2, 0]], unit.cell[[2, 0, 1]]), axis=1)
    return load_crystal(name, tuple(int(np.ceil(MIN_WIDTH_ANGSTROM / w)) for w in widths))


def sample(trajectory: str, count: int) -> list[Atoms]:
    """``count`` frames spread over the second half of a stage's trajectory."""
    frames = list(iter_frames(trajectory))[1:]
    half = frames[len(frames) // 2:]
    picks = np.unique(np.linspace(0, len(half) - 1, min(count, len(half))).round().astype(int))
    return [Atoms(half[i].numbers, positions=half[i].get_positions(wrap=True), cell=half[i].cell, pbc=True)
            for i in picks]


def run_system(name: str, atoms: Atoms, protocol: Protocol, stages: dict[str, int], model: str, workdir: Path,
               log: dict, threads: int = 1) -> list[tuple[Atoms, str]]:
    # Cells of 100-300 atoms run faster on one thread than on two (bench md).
    engine = LammpsEngine(LammpsSettings((model,), threads=threads))
    try:
        result = engine.run(atoms, protocol, workdir / name)
    except ThioglassError as err:
        log[name] = f"unstable: {err}"
        print(f"{name}: {err}")
        return []
    log[name] = "stable"
    return [(frame, stage) for stage, count in stages.items() for frame in sample(result.stage(stage).trajectory, count)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("out", type=Path)
    parser.add_argument("--workdir", type=Path, default=Path("test-set-work"))
    parser.add_argument("--train-store", type=Path, help="Training label store: fail if a test frame is in it.")
    parser.add_argument("--quick", action="store_true", help="Short MD and two systems, to try the recipe.")
    parser.add_argument("--seed", type=int, default=SEED, help="Seed of the glasses and the MD velocities.")
    parser.add_argument("--keep", type=Path, help="Earlier test set to carry into OUT unchanged.")
    args = parser.parse_args()
    glasses = dict(list(GLASSES.items())[:1]) if args.quick else GLASSES
    crystals = dict(list(CRYSTALS.items())[3:4]) if args.quick else CRYSTALS
    picked: list[tuple[Atoms, dict]] = []
    stability: dict[str, str] = {}
    for k, (composition, family) in enumerate(glasses.items()):
        atoms = start_structure(f"glass:{composition}:{GLASS_ATOMS}", seed=args.seed + k)
        for frame, stage in run_system(composition, atoms, glass_protocol(args.quick, args.seed),
                                       {"melt": 3, "hold300": 4, "hold650": 4}, args.model, args.workdir, stability):
            picked.append((frame, {"family": family, "system": f"glass {composition}", "stage": stage}))
    for name, family in crystals.items():
        for frame, stage in run_system(name, crystal_cell(name), crystal_protocol(args.quick, args.seed), {"heat": 5},
                                       args.model, args.workdir, stability):
            picked.append((frame, {"family": family, "system": f"crystal {name}", "stage": stage}))
    keys = [frame_key(frame) for frame, _ in picked]
    if args.train_store:
        shared = set(keys) & set(LabelStore(args.train_store).keys())
        if shared:
            raise SystemExit(f"{len(shared)} test frames are in the training store {args.train_store}")
    store = LabelStore(args.workdir / "labels")
    report = label_frames([frame for frame, _ in picked], REFERENCE, store, progress=True)
    print(f"labelled {report.labelled}, already done {report.already_done}, failed {report.failed}")
    frames = []
    for key, (_, info) in zip(keys, picked):
        if store.status(key) != "done":
            continue
        atoms, label = store.load(key)
        stress = -np.asarray(label.virial_ev) / atoms.get_volume()
        atoms.calc = SinglePointCalculator(atoms, energy=label.energy_ev, forces=label.forces_ev_per_angstrom,
                                           stress=stress[[0, 1, 2, 1, 0, 0], [0, 1, 2, 2, 2, 1]])
        atoms.info.update(info, frame_key=key, reference=REFERENCE, source=f"MD of {Path(args.model).name}")
        frames.append(atoms)
    if args.keep:
        kept = read(args.keep, ":")
        for atoms in kept:
            atoms.info.setdefault("source", "MD of the first shipped model")
        frames = kept + frames
    write(args.out, frames, format="extxyz")
    (args.workdir / "stability.json").write_text(json.dumps(stability, indent=2))
    print(f"{len(frames)} frames -> {args.out}; stability: {stability}")


if __name__ == "__main__":
    main()
