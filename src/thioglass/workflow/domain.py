"""``thioglass domain``: where in the Li2S-SiS2-P2S5 triangle the model stays inside its trust window.

For every composition of a grid (:func:`composition_grid`; the paper's five glasses included) a small
cell is melt-quenched quickly with the production model (:class:`~thioglass.md.quench.QuenchJob`:
melt, cool, a hold at 300 K) and then held at 650 K (the hot end of the conductivity runs), while the
ensemble's force deviation is recorded on every sampled frame (:mod:`thioglass.mlff.ensemble`). Each
stage's deviation is summarised (:func:`~thioglass.mlff.ensemble.deviation_stats`) and the composition
gets a verdict (:func:`thioglass.workflow.domain_map.verdict`).

Layout of ``out_dir``::

    job.json                       potential, ensemble members, settings (a rerun must match them)
    <composition>/replica_0/       a quench replica (thioglass.md.quench: glass.extxyz, 00_melt, 01_cool,
                                   02_anneal) with the hot hold as a fourth stage folder (03_hold_650);
                                   each stage folder holds the engine's model_devi.out
    <composition>/point.json       the composition's stats and verdict; its presence marks it finished
    domain.json                    the map (thioglass.workflow.domain_map)
    domain-map.png, domain-map.svg the ternary plot (thioglass.report.domain_plot)
    summary.json                   inputs, versions, wall times

Each composition is one job of :func:`~thioglass.md.jobs.run_jobs` (here or on Dask workers). A killed
scan rerun with the same command keeps every finished composition and resumes the unfinished ones from
their MD checkpoints. A composition whose MD fails is recorded as finished (verdict ``outside``, the
error kept); delete its folder to try it again.
"""

from __future__ import annotations

import json
import time
from dataclasses import KW_ONLY, asdict, dataclass, replace
from pathlib import Path
from typing import Any, Callable

from thioglass.errors import ThioglassError
from thioglass.io.atomic import write_json
from thioglass.locking import locked_folder
from thioglass.md.protocol import Protocol, QuenchSettings, Stage

PointCallback = Callable[[dict], None]


@dataclass(frozen=True, kw_only=True)
class DomainSettings:
    """The grid and the short melt-quench of each composition (times in ps, temperatures in K)."""

    step_mol_percent: float = 10.0
    max_li2s_mol_percent: float = 90.0
    paper_glasses: bool = True
    n_atoms: int = 120
    melt_k: float = 1700.0
    melt_ps: float = 2.0
    cooling_rate_k_per_s: float = 5e14
    anneal_ps: float = 2.0
    hot_k: float = 650.0
    hot_ps: float = 2.0
    timestep_fs: float = 1.0
    tdamp_ps: float = 0.1
    pdamp_ps: float = 1.0
    dump_every_ps: float = 0.1
    deviation_every_steps: int = 20
    seed: int = 1

    def __post_init__(self) -> None:
        steps = 100.0 / self.step_mol_percent if self.step_mol_percent > 0 else 0.0
        if not (steps >= 1 and abs(steps - round(steps)) < 1e-9):
            raise ThioglassError(f"grid step {self.step_mol_percent:g} mol % must divide 100 (e.g. 10, 20, 25)")
        if not 0 <= self.max_li2s_mol_percent <= 100:
            raise ThioglassError(f"largest Li2S share {self.max_li2s_mol_percent:g} mol % is not within 0-100")
        if self.deviation_every_steps < 1:
            raise ThioglassError(f"deviation interval {self.deviation_every_steps} steps must be at least 1")
        if self.hot_ps <= 0 or self.hot_k <= 0:
            raise ThioglassError("the hot hold needs a positive duration and temperature")
        self.quench_settings()  # checks the protocol values in one line

    def quench_settings(self) -> QuenchSettings:
        """The quench of each composition: one replica, melt, cool, hold at 300 K."""
        return QuenchSettings(n_atoms=self.n_atoms, replicas=1, melt_k=self.melt_k, melt_ps=self.melt_ps,
                              final_k=300.0, cooling_rate_k_per_s=self.cooling_rate_k_per_s, anneal_ps=self.anneal_ps,
                              timestep_fs=self.timestep_fs, tdamp_ps=self.tdamp_ps, pdamp_ps=self.pdamp_ps,
                              dump_every_ps=self.dump_every_ps, seed=self.seed)

    def hot_protocol(self) -> Protocol:
        """The hold at ``hot_k`` (NVT at the 300 K glass's volume, as the conductivity runs)."""
        stage = Stage(f"hold_{self.hot_k:g}", "nvt", self.hot_ps, self.hot_k, tdamp_ps=self.tdamp_ps,
                      dump_every_ps=self.dump_every_ps)
        return Protocol((stage,), timestep_fs=self.timestep_fs, seed=self.seed + 1000)


DOMAIN_PRESETS: dict[str, DomainSettings] = {
    # 10 mol % steps up to 90 % Li2S (55 compositions and the paper's glasses), 120 atoms, 2 ps per stage:
    # about 9000 steps a composition, hours on 2 cores; for a cluster (--workers, --scheduler).
    "standard": DomainSettings(),
    # The shipped map: 20 mol % steps up to 80 % Li2S (20 compositions and the paper's glasses), 100 atoms,
    # 0.5 ps per stage (cooling at 2.8e15 K/s): about 2000 steps a composition.
    "coarse": DomainSettings(step_mol_percent=20.0, max_li2s_mol_percent=80.0, n_atoms=100, melt_ps=0.5,
                             cooling_rate_k_per_s=2.8e15, anneal_ps=0.5, hot_ps=0.5, dump_every_ps=0.05),
    # Seconds: tests and installation checks.
    "smoke": DomainSettings(step_mol_percent=50.0, max_li2s_mol_percent=100.0, paper_glasses=False, n_atoms=60,
                            melt_ps=0.05, cooling_rate_k_per_s=2.8e16, anneal_ps=0.05, hot_ps=0.05,
                            dump_every_ps=0.01),
}


def domain_preset(name: str, **overrides: Any) -> DomainSettings:
    """A named preset with any field overridden (None leaves the preset's value)."""
    from thioglass.checks import pick_preset

    return pick_preset(DOMAIN_PRESETS, name, overrides, what="domain preset")


def composition_grid(settings: DomainSettings) -> tuple[list[str], dict[str, str]]:
    """(compositions to scan, {composition: why it is left out}).

    The grid's points have every component a multiple of the step, Li2S up to ``max_li2s_mol_percent``,
    ordered by Li2S then SiS2; the paper's glasses are added where they are not on it. A composition
    whose smallest exact cell is larger than ``n_atoms`` cannot be built at this size and is left out.
    """
    from thioglass.composition import Composition
    from thioglass.paper.values import GLASSES

    n = round(100.0 / settings.step_mol_percent)
    labels: list[str] = []
    for i in range(n + 1):
        for j in range(n + 1 - i):
            li2s, sis2 = i * settings.step_mol_percent, j * settings.step_mol_percent
            if li2s <= settings.max_li2s_mol_percent + 1e-9:
                labels.append(Composition(li2s, sis2, max(0.0, 100.0 - li2s - sis2)).label)
    for glass in GLASSES if settings.paper_glasses else ():
        if glass not in labels:
            labels.append(glass)
    kept, skipped = [], {}
    for label in labels:
        try:
            _composition(label).atom_counts(settings.n_atoms)
        except ThioglassError as err:
            skipped[label] = str(err)
            continue
        kept.append(label)
    return kept, skipped


def _composition(label: str):
    from thioglass.composition import parse_composition

    return parse_composition(label)


@dataclass(frozen=True)
class DomainJob:
    """One composition of the scan, in plain values so that it travels to a Dask worker.

    Its MD runs in the folder of a quench replica (:class:`~thioglass.md.quench.QuenchJob`: the same
    random-packed start, seed and melt-quench stages) with the hot hold as a fourth stage.
    """

    composition: str
    settings: DomainSettings
    potential: str | None
    ensemble: tuple[str, ...]
    out_dir: str
    _: KW_ONLY
    threads: int = 1

    @property
    def name(self) -> str:
        return self.composition

    @property
    def folder(self) -> Path:
        return Path(self.out_dir) / self.composition

    def quench_job(self):
        from thioglass.md.quench import QuenchJob

        return QuenchJob(self.composition, self.settings.quench_settings(), self.potential, str(self.folder), 0,
                         threads=self.threads)

    @property
    def protocol(self) -> Protocol:
        """The replica's melt-quench and the hot hold after it."""
        quench = self.quench_job().protocol
        return replace(quench, stages=quench.stages + self.settings.hot_protocol().stages)

    def read_progress(self) -> tuple[int, int]:
        from thioglass.md.jobs import run_position

        position = run_position(self.quench_job().folder, self.protocol)
        return position.steps_done, position.total_steps

    def run(self, progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
        """The composition's point (see :func:`point_record`), stored in ``point.json``; a stored one is returned."""
        done = self.folder / "point.json"
        if done.exists():
            return json.loads(done.read_text())
        start = time.perf_counter()
        try:
            record, folders = self._run_md(progress)
            failed = None
        except ThioglassError as err:
            record, folders, failed = {}, [], str(err)
        point = point_record(self.composition, folders, record, failed=failed, wall_s=time.perf_counter() - start,
                             every_steps=self.settings.deviation_every_steps)
        write_json(done, point)
        return point

    def _run_md(self, progress: Callable[[int, int], None] | None) -> tuple[dict, list[tuple[str, Path]]]:
        from thioglass.md.engine import make_engine
        from thioglass.md.jobs import MDJob, stage_folders
        from thioglass.md.quench import DENSITY_SKIP_FRACTION, anneal_averages

        quench = self.quench_job()
        glass = quench.start_structure()
        engine = make_engine(self.potential, self.threads, ensemble=self.ensemble,
                             deviation_every_steps=self.settings.deviation_every_steps)
        result = MDJob(self.composition, glass, self.protocol, str(quench.folder), engine).run(progress)
        record = {"n_atoms": len(glass), "formula": glass.get_chemical_formula(),
                  **anneal_averages(result.stage("anneal").thermo_table(), DENSITY_SKIP_FRACTION)}
        return record, [(stage.name, folder) for stage, folder in stage_folders(quench.folder, self.protocol)]


def point_record(composition: str, folders: list[tuple[str, Path]], quench: dict, *, failed: str | None,
                 wall_s: float, every_steps: int | None = None) -> dict[str, Any]:
    """One composition of the map: mol %, cell, each stage's deviation stats, verdict and the stage that decided."""
    from thioglass.mlff.ensemble import stage_deviation
    from thioglass.paper.values import GLASSES
    from thioglass.workflow.domain_map import verdict

    stages = {}
    for name, folder in folders:
        stats = stage_deviation(folder, every_steps)
        if stats is not None:
            stages[name] = stats
    if failed is None and not stages:
        failed = "no stage recorded a model deviation (is the ensemble passed to the engine?)"
    decision, stage = verdict(stages, failed)
    c = _composition(composition)
    point = {"composition": c.label, "mol_percent": c.mol_percent, "paper_glass": c.label in GLASSES,
             "n_atoms": quench.get("n_atoms"), "formula": quench.get("formula"),
             "density_300k_g_cm3": quench.get("density_g_cm3"), "stages": stages, "verdict": decision,
             "decided_by": stage, "wall_s": round(wall_s, 2)}
    if failed is not None:
        point["failed"] = failed
    return point


@locked_folder("out_dir", what="domain")
def scan_domain(settings: DomainSettings, potential: str | None, out_dir: str | Path, client: Any = None, *,
                ensemble: tuple[str, ...] | None = None, threads: int = 1,
                progress: Callable[[str, int, int | None], None] | None = None,
                on_point: PointCallback | None = None) -> dict[str, Any]:
    """Scan the grid, write ``domain.json`` and the ternary plot into ``out_dir``; return the map.

    Parameters
    ----------
    settings
        Grid and protocol (:data:`DOMAIN_PRESETS`).
    potential
        The production model (None: the shipped one); it must have an ensemble (the shipped one, or
        ``ensemble`` for a user's ``.pb``), else one line says so.
    client
        A ``dask.distributed.Client`` (each composition one task) or None to run here.
    progress, on_point
        ``progress(composition, steps_done, total_steps)``; ``on_point(point)`` as each composition finishes.
    """
    from thioglass.md.jobs import check_job_file, run_jobs
    from thioglass.runinfo import RunSummary
    from thioglass.workflow.domain_map import build_map

    members, model = resolve_model(potential, ensemble)
    labels, skipped = composition_grid(settings)
    out_dir = Path(out_dir).resolve()
    record = {"potential": potential, "ensemble": [str(m) for m in members], "settings": asdict(settings)}
    check_job_file(out_dir, record, "domain scan")
    jobs = [DomainJob(label, settings, potential, tuple(str(m) for m in members), str(out_dir), threads=threads)
            for label in labels]
    summary = RunSummary(command="domain", inputs={**record, "threads": threads})
    with summary.stage("scan"):
        outcome = run_jobs(jobs, client, progress=progress,
                           on_done=None if on_point is None else lambda _name, point: on_point(point))
    outcome.raise_first()  # a job records its MD failures itself; anything else is a bug
    domain = build_map(list(outcome.results.values()), asdict(settings), model, members, skipped)
    write_json(out_dir / "domain.json", domain)
    from thioglass.report.domain_plot import write_domain_plot

    for path in write_domain_plot(domain, out_dir / "domain-map"):
        summary.add_output(path.suffix.lstrip("."), path)
    summary.add_output("domain", out_dir / "domain.json")
    summary.write(out_dir / "summary.json")
    return domain


def resolve_model(potential: str | None, ensemble: tuple[str, ...] | None) -> tuple[tuple[Path, ...], Path]:
    """(ensemble members, production model file); one line when the potential has no ensemble."""
    from thioglass.mlff.ensemble import ensemble_for, ensemble_note
    from thioglass.potential import model_path, potential_kind

    if potential_kind(potential) != "deepmd":
        raise ThioglassError(f"thioglass domain measures a DeePMD model's ensemble deviation; {potential} is not a "
                             "DeePMD model")
    members = ensemble_for(potential, ensemble)
    if not members:
        raise ThioglassError(f"{ensemble_note(potential, members)}, so there is nothing to map the domain with")
    return members, Path(model_path(potential)).resolve()
