"""Seed frames for the next learning loop (issue 13): short MD driven by the reference itself, each frame
labelled as it is made (the step's own energy, forces and stress), the analogue of the paper's ab initio MD.

* crystals: every bundled crystal made of Li, Si, P and S, in the smallest supercell wider than twice
  ``--cutoff`` (6 Å: wide enough for every architecture considered), its atoms rattled by 0.02 Å (seeded),
  NVT at 300 K and 650 K, and at 650 K in a cell randomly strained by up to ``--max-strain`` (symmetric);
* glasses: each family of ``validate-model`` (75Li2S-25P2S5, 50Li2S-50SiS2, 60Li2S-32SiS2-8P2S5; ``--glasses``
  names others, e.g. the paper's 67 and 70Li2S-P2S5, where the loop's models failed most), packed
  from 100 atoms (grown until wider than twice the cutoff), melted at 1700 K, then held at 650 K and 300 K,
  and at 300 K in a randomly strained cell, each from the melt's last frame.

Every run is NVT (Nose-Hoover, tdamp 0.05 ps) through the package's ASE engine, a labelled frame every
``--every-ps``. Held-out frames stay held out: ``validate-model`` runs its reference MD from unrattled
crystals and glasses packed with seed 1, with MD seed 1 (``ValidationSettings.seed``); here every packing and
run is seeded from ``--seed`` (default 4243, not 1; the PBEsol audit set used 1212), crystals start rattled,
and a frame whose key is in ``--exclude`` label stores is never stored.

Runs go smallest first (the glasses, then crystals by size) and resume: a finished run is skipped, a killed
one continues from its last checkpoint (one per labelled frame). ``--export`` first takes every labelled
frame of every run, finished or not, into the store, then writes the store as a compressed extxyz; beside it,
``<name>-runs.json`` lists each finished run's frame keys, so a fresh checkout that imported the export into
the store (``thioglass label --import``) skips those runs.

    python training/seed_frames.py --workdir work/seed --export training/seed-sevennet-l3i5.extxyz.gz
    python training/seed_frames.py --workdir work/seed --plan          # the runs, their atoms, nothing run
    python training/seed_frames.py --workdir work/seed --export-only --export training/seed-sevennet-l3i5.extxyz.gz
"""

from __future__ import annotations

import argparse
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from ase import Atoms

REFERENCE = "sevennet-l3i5"
SEED = 4243
CRYSTAL_TEMPERATURES_K = (300.0, 650.0)
MELT_K = 1700.0
GLASS_HOLDS_K = (650.0, 300.0)
RATTLE_ANGSTROM = 0.02


@dataclass(frozen=True)
class SeedRun:
    """One reference MD run: its name, start frame and temperature."""

    name: str
    atoms: Atoms
    temperature_k: float


def _strained(atoms: Atoms, max_strain: float, rng: np.random.Generator) -> Atoms:
    strain = rng.uniform(-max_strain, max_strain, (3, 3))
    out = atoms.copy()
    out.set_cell(np.asarray(atoms.cell) @ (np.eye(3) + (strain + strain.T) / 2), scale_atoms=True)
    return out


def _subject(reference: str, cutoff_angstrom: float):
    from thioglass.mlff.validation.subject import ELEMENTS, Subject

    return Subject("none", reference, cutoff_angstrom, ELEMENTS)


def crystal_runs(args: argparse.Namespace) -> list[SeedRun]:
    """Every crystal at each temperature and once strained, rattled starts, smallest cells first."""
    from thioglass.mlff.validation.subject import crystal_cell, crystal_list

    subject = _subject(args.reference, args.cutoff)
    runs = []
    for c, name in enumerate(crystal_list(None, subject)):
        rng = np.random.default_rng(args.seed + 100 * c)
        start = crystal_cell(name, subject)
        start.rattle(RATTLE_ANGSTROM, seed=int(rng.integers(2**31)))
        runs += [SeedRun(f"{name}-{t:g}K", start, t) for t in CRYSTAL_TEMPERATURES_K]
        runs.append(SeedRun(f"{name}-strained-650K", _strained(start, args.max_strain, rng), 650.0))
    return sorted(runs, key=lambda run: len(run.atoms))


def glass_starts(args: argparse.Namespace) -> dict[str, Atoms]:
    """Each family packed with this script's seed (validate-model packs with seed 1)."""
    from thioglass.mlff.validation.settings import ValidationSettings
    from thioglass.mlff.validation.subject import glass_cell

    settings = ValidationSettings(seed=args.seed, glass_atoms=100)
    return {name: glass_cell(name, _subject(args.reference, args.cutoff), settings) for name in args.glasses}


def run_batch(runs: list[SeedRun], args: argparse.Namespace, store, exclude: set[str]) -> dict:
    """Run (or resume) ``runs`` one after another; store each run's labelled frames as it ends."""
    from thioglass.md.ase_engine import AseEngine, AseSettings
    from thioglass.md.jobs import MDJob, run_jobs
    from thioglass.md.protocol import Protocol, Stage

    every = max(1, round(args.every_ps * 1000))
    engine = AseEngine(AseSettings(args.reference, threads=args.threads, write_labels=True,
                                   checkpoint_every_steps=every))
    jobs = []
    for run in runs:
        run_seed = args.seed + zlib.crc32(run.name.encode()) % 100_000  # distinct and stable per run
        stage = Stage("nvt", "nvt", args.md_ps, run.temperature_k, tdamp_ps=0.05, dump_every_ps=args.every_ps)
        protocol = Protocol((stage,), timestep_fs=1.0, seed=run_seed, thermo_every_steps=10)
        jobs.append(MDJob(run.name, run.atoms, protocol, str(args.workdir / "md" / run.name), engine))

    records = load_records(args.export)
    done = {job.name: _stored_final(records[job.name], store) for job in jobs
            if job.name in records and all(store.status(key) == "done" for key in records[job.name])}
    for name in done:
        print(f"{name}: every frame already in the store (from {args.export}), skipped", flush=True)

    def finished(name: str, result) -> None:
        keys = harvest(Path(result.stages[0].trajectory), store, exclude)
        if args.export:  # the frames first, then the record that lets a fresh checkout skip the run
            from thioglass.mlff.dataset import export_labels

            export_labels(store, args.export)
            save_record(args.export, name, keys)
        print(f"{name}: done, {len(keys)} labelled frames", flush=True)

    outcome = run_jobs([job for job in jobs if job.name not in done], None, on_done=finished)
    for name, message in outcome.messages().items():
        print(f"{name}: failed ({message})", flush=True)
    return {**done, **{name: result.final_atoms() for name, result in outcome.results.items()}}


def _records_path(export: Path) -> Path:
    return export.with_name(export.name.split(".")[0] + "-runs.json")


def load_records(export: Path | None) -> dict[str, list[str]]:
    """The keys of every finished run's frames, kept beside the export (committed with it), so a fresh
    checkout that imported the export skips those runs."""
    import json

    path = _records_path(export) if export else None
    return json.loads(path.read_text()) if path and path.is_file() else {}


def save_record(export: Path, name: str, keys: list[str]) -> None:
    from thioglass.io.atomic import write_json

    write_json(_records_path(export), {**load_records(export), name: keys})


def _stored_final(keys: list[str], store) -> Atoms:
    """A skipped run's last frame, from the store (a glass's holds start from its melt's last frame)."""
    return store.load(keys[-1])[0]


def harvest(trajectory: Path, store, exclude: set[str]) -> list[str]:
    """Every labelled frame of a trajectory (a run's, finished or not) into ``store``; returns their keys."""
    from ase.io import iread

    from thioglass.reference.label import Label, frame_key

    keys = []
    try:
        for frame in iread(trajectory, index=":", format="extxyz"):
            plain = Atoms(frame.numbers, positions=frame.positions, cell=frame.cell, pbc=True)
            key = frame_key(plain)
            if key in exclude:
                continue
            keys.append(key)
            if store.status(key) != "done":
                virial = -frame.get_stress(voigt=False) * frame.get_volume()
                label = Label(float(frame.get_potential_energy()), np.array(frame.get_forces()), virial)
                store.save(key, plain, label)
    except (ValueError, IndexError, StopIteration):  # the last frame of a killed run may be cut short
        pass
    return keys


def excluded_keys(stores: list[Path]) -> set[str]:
    """Keys of every label in ``stores`` (read only: a missing store is an error, never created)."""
    missing = [str(path) for path in stores if not (path / "done").is_dir()]
    if missing:
        raise SystemExit(f"--exclude: no label store at {', '.join(missing)}")
    return {file.stem for path in stores for file in (path / "done").glob("*.npz")}


def export(args: argparse.Namespace, store, exclude: set[str]) -> None:
    from thioglass.mlff.dataset import export_labels

    for trajectory in sorted((args.workdir / "md").glob("*/*/traj.extxyz")):
        keys = harvest(trajectory, store, exclude)
        if (trajectory.parent / "done.json").is_file():  # a finished run: a fresh checkout may skip it
            save_record(args.export, trajectory.parent.parent.name, keys)
    count = export_labels(store, args.export)
    print(f"{count} labelled frames exported to {args.export}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--reference", default=REFERENCE)
    parser.add_argument("--cutoff", type=float, default=6.0, help="cells wider than twice this (Å)")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--md-ps", type=float, default=0.2)
    parser.add_argument("--every-ps", type=float, default=0.01)
    parser.add_argument("--max-strain", type=float, default=0.06)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--only", default="", help="comma-separated system names (default: all)")
    parser.add_argument("--glasses", type=lambda text: tuple(g.strip() for g in text.split(",") if g.strip()),
                        default=None, help="comma-separated glass compositions (default: validate-model's families)")
    parser.add_argument("--exclude", type=Path, nargs="*", default=[], help="label stores whose frames are held out")
    parser.add_argument("--export", type=Path, help="write the store here (extxyz, .gz compresses)")
    parser.add_argument("--export-only", action="store_true")
    parser.add_argument("--plan", action="store_true", help="list the runs and stop")
    args = parser.parse_args()
    from thioglass.mlff.validation.settings import GLASS_FAMILIES
    from thioglass.reference.label import LabelStore

    args.glasses = args.glasses or GLASS_FAMILIES

    store = LabelStore(args.workdir / "labels")
    exclude = excluded_keys(args.exclude)
    if not args.export_only:
        run_all(args, store, exclude)
    if args.export:
        export(args, store, exclude)


def _wanted(name: str, only: str) -> bool:
    return not only or any(name.startswith(item.strip()) for item in only.split(",") if item.strip())


def run_all(args: argparse.Namespace, store, exclude: set[str]) -> None:
    glasses = {name: atoms for name, atoms in glass_starts(args).items() if _wanted(name, args.only)}
    crystals = [run for run in crystal_runs(args) if _wanted(run.name, args.only)]
    if args.plan:
        for name, atoms in glasses.items():
            print(f"glass {name}: {len(atoms)} atoms, {MELT_K:g} K melt, then {GLASS_HOLDS_K} K and 300 K strained")
        for run in crystals:
            print(f"crystal run {run.name}: {len(run.atoms)} atoms")
        return
    for g, (name, atoms) in enumerate(glasses.items()):
        melt = run_batch([SeedRun(f"{name}-{MELT_K:g}K", atoms, MELT_K)], args, store, exclude)
        if not melt:
            continue
        quenched = next(iter(melt.values()))
        rng = np.random.default_rng(args.seed + 1000 + g)
        holds = [SeedRun(f"{name}-{t:g}K", quenched, t) for t in GLASS_HOLDS_K]
        holds.append(SeedRun(f"{name}-strained-300K", _strained(quenched, args.max_strain, rng), 300.0))
        run_batch(holds, args, store, exclude)
    run_batch(crystals, args, store, exclude)


if __name__ == "__main__":
    main()
