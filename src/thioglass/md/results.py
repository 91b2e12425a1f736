"""What an MD run leaves behind, the checks that catch a blow-up, and resume helpers."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from ase import Atoms

from thioglass.errors import ThioglassError
from thioglass.md.jobs import THERMO_COLUMNS
from thioglass.md.protocol import Stage


def read_thermo(path: str | Path) -> dict[str, np.ndarray]:
    """Thermo table written by the engines (``step temp pe ...``); repeated steps keep the last row."""
    path = Path(path)
    if not path.exists():
        return {c: np.empty(0) for c in THERMO_COLUMNS}
    rows: dict[int, list[float]] = {}
    for line in path.read_text().splitlines():
        parts = line.split()
        if not parts or line.startswith("#") or len(parts) != len(THERMO_COLUMNS):
            continue
        try:
            values = [float(p) for p in parts]
        except ValueError:
            values = [float("nan")] * len(parts)
            values[0] = float(parts[0]) if parts[0].lstrip("-").isdigit() else -1
        rows[int(values[0])] = values
    table = np.array([rows[k] for k in sorted(rows)]) if rows else np.empty((0, len(THERMO_COLUMNS)))
    return {c: table[:, i] for i, c in enumerate(THERMO_COLUMNS)}


def truncate_dump(path: str | Path, before_step: int) -> None:
    """Cut a LAMMPS dump so it keeps only frames with timestep < ``before_step`` (resume point)."""
    path = Path(path)
    if not path.exists():
        return
    cut = None
    frame_start = 0
    with open(path, "rb") as handle:
        offset = 0
        expect_step = False
        for line in handle:
            if expect_step:
                if int(line.split()[0]) >= before_step:
                    cut = frame_start
                    break
                expect_step = False
            if line.startswith(b"ITEM: TIMESTEP"):
                frame_start = offset
                expect_step = True
            offset += len(line)
    if cut is not None:
        with open(path, "r+b") as handle:
            handle.truncate(cut)


def check_frame(atoms: Atoms, min_distance_angstrom: float, thermo: dict[str, np.ndarray] | None = None) -> None:
    """Raise a one-line error if the frame or thermo output shows that MD blew up."""
    if not np.isfinite(atoms.positions).all() or not np.isfinite(np.asarray(atoms.cell)).all():
        raise ThioglassError("positions became NaN: the MD blew up (smaller timestep or a better potential)")
    if thermo is not None and len(thermo["step"]):
        bad = ~np.isfinite(np.column_stack(list(thermo.values()))).all(axis=1)
        if bad.any():
            step = int(thermo["step"][np.argmax(bad)])
            raise ThioglassError(f"energy or pressure became NaN at step {step}: the MD blew up")
    from thioglass.analysis.neighbors import vesin  # patched: no per-frame memory growth

    i, j, d = vesin.NeighborList(cutoff=min_distance_angstrom, full_list=False).compute(
        atoms.positions, np.asarray(atoms.cell), True, "ijd")
    if len(d):
        k = int(np.argmin(d))
        raise ThioglassError(f"atoms {int(i[k])} and {int(j[k])} are {d[k]:.2f} Å apart (< {min_distance_angstrom} Å): "
                             "the MD blew up; check the potential and the timestep")


@dataclass(frozen=True)
class StageResult:
    """Files of one finished stage."""

    name: str
    folder: str
    trajectory: str
    thermo: str
    final_structure: str
    deviation: str | None

    @classmethod
    def from_folder(cls, folder: Path, stage: Stage) -> "StageResult":
        deviation = folder / "model_devi.out"
        final = folder / "final.data"
        if not final.exists():
            final = folder / "final.extxyz"
        trajectory = folder / "traj.dump"
        if not trajectory.exists():
            trajectory = folder / "traj.extxyz"
        return cls(stage.name, str(folder), str(trajectory), str(folder / "thermo.dat"), str(final),
                   str(deviation) if deviation.exists() else None)

    def final_atoms(self) -> Atoms:
        from thioglass.io import read_frame

        return read_frame(self.final_structure)

    def thermo_table(self) -> dict[str, np.ndarray]:
        return read_thermo(self.thermo)

    @staticmethod
    def save_last_good(folder: Path) -> Path | None:
        """Write the last finite frame of the stage's trajectory to ``last_good.extxyz``."""
        from ase.io import write

        from thioglass.io import iter_frames

        last = None
        for name in ("traj.dump", "traj.extxyz"):
            path = folder / name
            if path.exists() and path.stat().st_size:
                try:
                    for atoms in iter_frames(path):
                        if np.isfinite(atoms.positions).all():
                            last = atoms
                except ThioglassError:
                    pass  # a torn last frame: keep what was read before it
        if last is None:
            return None
        write(folder / "last_good.extxyz", last)
        return folder / "last_good.extxyz"


@dataclass(frozen=True)
class MDResult:
    """A whole protocol's output: one :class:`StageResult` per stage, in order."""

    workdir: str
    stages: tuple[StageResult, ...]

    def final_atoms(self) -> Atoms:
        return self.stages[-1].final_atoms()

    def stage(self, name: str) -> StageResult:
        for result in self.stages:
            if result.name == name:
                return result
        raise ThioglassError(f"no stage named '{name}'; stages are {[s.name for s in self.stages]}")


def deviation_runs(root: str | Path) -> list[tuple[str, str, Path, float]]:
    """Every finished stage under ``root`` that recorded a model deviation: (run folder relative to
    ``root``, stage name, deviation file, timestep in fs), read from ``done.json`` and ``protocol.json``."""
    import json

    from thioglass.md.jobs import DONE_FILE
    from thioglass.mlff.ensemble import DEVIATION_FILE

    root = Path(root)
    found = []
    for path in sorted(root.rglob(DEVIATION_FILE)) if root.is_dir() else []:
        done, protocol = path.parent / DONE_FILE, path.parent.parent / "protocol.json"
        if not done.is_file():
            continue
        timestep_fs = json.loads(protocol.read_text()).get("timestep_fs", 1.0) if protocol.is_file() else 1.0
        run = path.parent.parent.relative_to(root).as_posix()
        found.append((run, json.loads(done.read_text())["stage"]["name"], path, float(timestep_fs)))
    return found


def deviation_by_stage(root: str | Path, name: str, *, per_run: bool = False) -> dict[str, dict]:
    """:func:`~thioglass.mlff.ensemble.deviation_stats` of every MD stage under ``root``, keyed
    ``<name>/<stage>``, frames pooled over the runs (replicas, strains); ``per_run`` keeps runs apart
    (``<name>/<run>/<stage>``, e.g. one conductivity temperature each)."""
    from thioglass.mlff.ensemble import deviation_stats, read_deviation_table

    pooled: dict[str, list[np.ndarray]] = {}
    spacing: dict[str, int] = {}
    for run, stage, path, _ in deviation_runs(root):
        key = "/".join([name, *([run] if per_run and run != "." else []), stage])
        steps, values = read_deviation_table(path)
        pooled.setdefault(key, []).append(values)
        if len(steps) > 1:
            spacing[key] = int(np.median(np.diff(steps)))
    return {key: deviation_stats(np.concatenate(parts), every_steps=spacing.get(key))
            for key, parts in pooled.items() if sum(p.size for p in parts)}


def deviation_series(root: str | Path, name: str, *, per_run: bool = False) -> dict[str, list[tuple[np.ndarray, np.ndarray]]]:
    """The per-frame deviation against time (ps) of each stage, grouped as :func:`deviation_by_stage`:
    one (time_ps, max_devi_f) pair per run, for the plot."""
    from thioglass.mlff.ensemble import read_deviation_table

    series: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
    for run, stage, path, timestep_fs in deviation_runs(root):
        key = "/".join([name, *([run] if per_run and run != "." else []), stage])
        steps, values = read_deviation_table(path)
        series.setdefault(key, []).append((steps * timestep_fs / 1000, values))
    return series
