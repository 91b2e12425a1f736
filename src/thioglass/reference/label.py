"""Label structures with a reference calculator, one file per frame, resumable.

Each frame is keyed by a hash of its atoms, cell and positions, so a killed labelling job rerun on the
same frames skips the ones already on disk, and a frame that failed is recorded (with its error) and
skipped instead of stopping the job. Work goes through a Dask client when one is given.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
from ase import Atoms

from thioglass.errors import ThioglassError
from thioglass.reference.calculators import Options, cached_calculator, freeze_options, options_for_store


@dataclass(frozen=True)
class Label:
    """Reference energy (eV), forces (eV/Å) and virial (eV, 3x3, ``-V * stress``) of one frame."""

    energy_ev: float
    forces_ev_per_angstrom: np.ndarray
    virial_ev: np.ndarray | None


@dataclass(frozen=True)
class LabelReport:
    """What one labelling call did."""

    already_done: int
    labelled: int
    failed: int
    store: str


def frame_key(atoms: Atoms) -> str:
    """Stable 16-hex-digit key of a frame (positions to 1e-6 Å)."""
    digest = hashlib.sha1()
    digest.update(np.asarray(atoms.numbers, dtype=np.int64).tobytes())
    digest.update(np.round(atoms.positions, 6).astype(np.float64).tobytes())
    digest.update(np.round(np.asarray(atoms.cell), 6).astype(np.float64).tobytes())
    digest.update(np.asarray(atoms.pbc, dtype=bool).tobytes())
    return digest.hexdigest()[:16]


def label_atoms(atoms: Atoms, calculator: Any) -> Label:
    """Energy, forces and virial of ``atoms``; raises on non-finite output."""
    work = atoms.copy()
    work.calc = calculator
    energy = float(work.get_potential_energy())
    forces = np.array(work.get_forces(), dtype=float)
    virial = None
    if all(work.pbc):
        stress = work.get_stress(voigt=False)
        virial = -np.asarray(stress, dtype=float) * work.get_volume()
    values = [np.array([energy]), forces] + ([virial] if virial is not None else [])
    if not all(np.isfinite(v).all() for v in values):
        raise ThioglassError(f"reference gave NaN/inf for {work.get_chemical_formula()}; check the structure for overlapping atoms")
    return Label(energy, forces, virial)


class LabelStore:
    """Labels on disk under ``root``: ``done/<key>.npz`` and ``failed/<key>.json``."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        (self.root / "done").mkdir(parents=True, exist_ok=True)
        (self.root / "failed").mkdir(parents=True, exist_ok=True)

    def status(self, key: str) -> str | None:
        if (self.root / "done" / f"{key}.npz").exists():
            return "done"
        if (self.root / "failed" / f"{key}.json").exists():
            return "failed"
        return None

    def save(self, key: str, atoms: Atoms, label: Label) -> None:
        arrays = {
            "numbers": atoms.numbers, "positions": atoms.positions, "cell": np.asarray(atoms.cell),
            "pbc": atoms.pbc, "energy_ev": np.array(label.energy_ev),
            "forces_ev_per_angstrom": label.forces_ev_per_angstrom,
        }
        if label.virial_ev is not None:
            arrays["virial_ev"] = label.virial_ev
        _atomic_write(self.root / "done" / f"{key}.npz", lambda f: np.savez(f, **arrays))

    def save_failure(self, key: str, atoms: Atoms, error: str) -> None:
        record = {"formula": atoms.get_chemical_formula(), "error": error}
        _atomic_write(self.root / "failed" / f"{key}.json", lambda f: f.write(json.dumps(record).encode()))

    def keys(self, kind: str = "done") -> list[str]:
        suffix = ".npz" if kind == "done" else ".json"
        return sorted(p.name[: -len(suffix)] for p in (self.root / kind).glob(f"*{suffix}"))

    def load(self, key: str) -> tuple[Atoms, Label]:
        path = self.root / "done" / f"{key}.npz"
        try:
            with np.load(path) as data:
                atoms = Atoms(numbers=data["numbers"], positions=data["positions"], cell=data["cell"], pbc=data["pbc"])
                virial = data["virial_ev"] if "virial_ev" in data else None
                label = Label(float(data["energy_ev"]), data["forces_ev_per_angstrom"], virial)
        except (OSError, ValueError, KeyError) as err:
            raise ThioglassError(f"label file {path} is corrupt ({err}); delete it and label again") from None
        return atoms, label

    def failures(self) -> dict[str, dict[str, str]]:
        return {k: json.loads((self.root / "failed" / f"{k}.json").read_text()) for k in self.keys("failed")}


def _atomic_write(path: Path, writer: Any) -> None:  # noqa: D103 - np.savez needs a file handle
    # A kill during the write leaves only the temporary file, never a half-written label.
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "wb") as handle:
        writer(handle)
    os.replace(tmp, path)


def _label_task(spec: str, atoms: Atoms, options: Options = ()) -> tuple[Label | None, str | None]:
    try:
        return label_atoms(atoms, cached_calculator(spec, options)), None
    except Exception as err:  # noqa: BLE001 - any reference failure is recorded, not fatal
        return None, f"{type(err).__name__}: {err}".splitlines()[0]


def label_frames(frames: Iterable[Atoms], spec: str, store: LabelStore, *, client: Any = None,
                 progress: bool = False, options: Mapping[str, Any] | None = None) -> LabelReport:
    """Label every frame not yet in ``store`` with reference ``spec``.

    Parameters
    ----------
    frames
        Structures to label.
    spec
        Reference name for :func:`thioglass.reference.calculators.get_calculator`.
    store
        Where labels live; frames already there (done or failed) are skipped.
    client
        A ``dask.distributed.Client``; without one, frames are labelled in this process.
    progress
        Show a Rich progress bar.
    options
        Reference options (DFT references); a DFT reference's working folder defaults to ``<store>/<spec>``.
    """
    frozen = freeze_options(options_for_store(spec, options, store.root))
    # A bad reference name (or a missing GPAW) must fail here, once, not be recorded as a failure of every frame.
    cached_calculator(spec, frozen)
    todo: list[tuple[str, Atoms]] = []
    seen: set[str] = set()
    done_before = 0
    for atoms in frames:
        key = frame_key(atoms)
        if key in seen:
            continue
        seen.add(key)
        if store.status(key) is not None:
            done_before += 1
        else:
            todo.append((key, atoms))
    failed = _label(todo, spec, frozen, store, client, progress)
    return LabelReport(done_before, len(todo) - failed, failed, str(store.root))


def _label(todo: Sequence[tuple[str, Atoms]], spec: str, options: Options, store: LabelStore, client: Any,
           progress: bool) -> int:
    """Label ``todo`` through the job layer, storing each label as it arrives; the number that failed."""
    from rich.progress import Progress

    from thioglass.md.jobs import CallJob, run_jobs

    frames = dict(todo)
    failed = 0

    with Progress(disable=not progress, transient=True) as bar:
        task = bar.add_task(f"labelling with {spec}", total=len(todo))

        def store_one(key: str, result: tuple[Label | None, str | None]) -> None:
            # Stored at once, so a killed job keeps every label finished before the kill.
            nonlocal failed
            label, error = result
            if label is None:
                failed += 1
                store.save_failure(key, frames[key], error or "unknown error")
            else:
                store.save(key, frames[key], label)
            bar.advance(task)

        jobs = [CallJob(key, _label_task, (spec, atoms, options)) for key, atoms in todo]
        outcome = run_jobs(jobs, client, on_done=store_one)
    outcome.raise_first()  # _label_task records reference errors itself; anything else is a bug
    return failed
