"""``thioglass bench``: every benchmark in one go, with the wall time of each stage of ``thioglass run``.

One JSON record holds

* ``analysis``: the record of :func:`thioglass.bench.analysis.run_analysis_benchmark`;
* ``md``: the record of :func:`thioglass.bench.md.run_md_benchmark`;
* ``run``: one timed :func:`thioglass.workflow.run.run_glass` of a composition: the wall time in
  seconds of each of its stages (:data:`RUN_STAGES`, from the run's ``summary.json``) and of the
  whole call;
* ``machine``: :func:`thioglass.bench.common.machine_info`.

The record is rewritten (atomically) after each part, so a crash keeps what was measured, and a
part skipped in a rerun keeps its earlier record. The run has its folder beside the JSON,
``<stem>-run/<composition>-<preset>/``: a rerun with the same ``out`` resumes it. Stages read back
from disk keep the times measured when they ran and are listed in ``resumed_stages``; ``total_s``
is always the wall time of this call.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from thioglass.bench.common import machine_info, write_json
from thioglass.errors import ThioglassError

PARTS = ("analysis", "md", "run")
#: The stages of ``thioglass run`` whose wall time the ``run`` part reports, in order.
RUN_STAGES = ("build", "quench", "structure", "elastic", "conductivity", "rotation", "report")
StageCallback = Callable[[str], None]


@dataclass(frozen=True)
class SuiteSettings:
    """What ``thioglass bench`` measures.

    Attributes
    ----------
    composition, preset, overrides
        The glass of the timed run, its preset and ``section.field=value`` overrides (as ``--set``).
    potential
        The run's potential and the model timed by the md part (a DeePMD ``.pb``); None: the
        shipped model.
    threads
        Threads of each MD run (run part) and of LAMMPS (md part).
    workers
        Dask workers of the run part (independent MD jobs side by side, as ``thioglass run --workers``).
    quick
        Small analysis and md benchmarks (their ``quick`` settings).
    skip
        Parts left out: any of :data:`PARTS`.
    reference
        Reference calculator the md part compares against (None: none).
    seed
        Seed of the analysis and md benchmarks' cells (the run keeps its preset's seeds).
    """

    composition: str = "75Li2S-25P2S5"
    preset: str = "quick"
    potential: str | None = None
    overrides: tuple[str, ...] = ()
    threads: int = 2
    workers: int = 1
    quick: bool = False
    skip: tuple[str, ...] = ()
    reference: str | None = "sevennet-mf-0-r2scan"
    seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "skip", parse_skip(self.skip))
        object.__setattr__(self, "overrides", tuple(self.overrides))
        if self.threads < 1 or self.workers < 1:
            raise ThioglassError(f"--threads and --workers must be at least 1, got {self.threads} and {self.workers}")

    @property
    def parts(self) -> tuple[str, ...]:
        return tuple(part for part in PARTS if part not in self.skip)


def parse_skip(items: Iterable[str] | str | None) -> tuple[str, ...]:
    """Parts to skip from ``"md,run"`` or ``["md", "run"]``, checked against :data:`PARTS`."""
    if not items:
        return ()
    items = [items] if isinstance(items, str) else list(items)
    names = {name.strip() for item in items for name in item.split(",") if name.strip()}
    unknown = sorted(names - set(PARTS))
    if unknown:
        raise ThioglassError(f"cannot skip {', '.join(unknown)}; --skip takes any of {', '.join(PARTS)}")
    return tuple(part for part in PARTS if part in names)


def run_folder(out: Path | str, label: str, preset: str) -> Path:
    """Where the run part of the suite writing ``out`` runs: ``<out stem>-run/<label>-<preset>``."""
    out = Path(out)
    return out.parent / f"{out.stem}-run" / f"{label}-{preset}"


@dataclass(frozen=True)
class RunPlan:
    """The run part's inputs, checked: canonical label, settings and potential (None: shipped model)."""

    label: str
    settings: Any
    potential: str | None


def check_suite(settings: SuiteSettings) -> RunPlan | None:
    """Fail in one line, before anything long starts, on inputs a later part would refuse.

    Returns the checked plan of the run part (None when it is skipped).
    """
    if not settings.parts:
        raise ThioglassError(f"--skip leaves nothing to measure; leave out at least one of {', '.join(PARTS)}")
    if "analysis" in settings.parts:
        from thioglass.bench import require_bench_extra

        require_bench_extra()
    if "md" in settings.parts and settings.potential is not None:
        from thioglass.md.engine import engine_kind

        if engine_kind(settings.potential) != "lammps":
            raise ThioglassError(f"bench md times a DeePMD model in LAMMPS, not '{settings.potential}'; pass "
                                 "--model MODEL.pb or --skip md")
        if not Path(settings.potential).is_file():
            raise ThioglassError(f"model file {settings.potential} does not exist; pass an existing --model")
    if "run" not in settings.parts:
        return None
    from thioglass.md.quench import check_inputs
    from thioglass.workflow.settings import run_settings

    config = run_settings(settings.preset, settings.overrides)
    label, potential = check_inputs(settings.composition, settings.potential, config.quench)
    return RunPlan(label, config, potential)


def analysis_record(settings: SuiteSettings, on_stage: StageCallback) -> dict[str, Any]:
    """The analysis benchmark (quick sizes with ``settings.quick``)."""
    from thioglass.bench.analysis import AnalysisBenchSettings, run_analysis_benchmark

    bench = (AnalysisBenchSettings.quick if settings.quick else AnalysisBenchSettings)(seed=settings.seed)
    return run_analysis_benchmark(bench, on_stage=on_stage)


def md_record(settings: SuiteSettings, on_stage: StageCallback) -> dict[str, Any]:
    """The MD throughput benchmark of ``settings.potential`` (quick sizes with ``settings.quick``)."""
    from thioglass.bench.md import MDBenchSettings, run_md_benchmark

    changes = {"model": settings.potential, "threads": settings.threads, "reference": settings.reference,
               "composition": settings.composition, "seed": settings.seed}
    bench = MDBenchSettings.quick(**changes) if settings.quick else MDBenchSettings(**changes)
    return run_md_benchmark(bench, on_stage=on_stage)


def run_record(plan: RunPlan, settings: SuiteSettings, folder: Path, reporter: Any = None) -> dict[str, Any]:
    """Run (or resume) ``thioglass run`` in ``folder`` and time it, stage by stage.

    ``stages_s`` are the run's own stage timings (``summary.json``); ``total_s`` is the wall time
    of this call, which also holds loading the potential and checking the folder.
    """
    from thioglass.workflow.run import run_glass

    start = time.perf_counter()
    results = run_glass(plan.label, plan.settings, plan.potential, folder, threads=settings.threads,
                        workers=settings.workers, reporter=reporter)
    total_s = round(time.perf_counter() - start, 3)
    summary = json.loads((folder / "summary.json").read_text())
    timings = summary["timings_s"]
    stages = {name: timings[name] for name in RUN_STAGES if name in timings}
    stages.update({name: value for name, value in timings.items() if name not in stages})
    return {
        "composition": plan.label,
        "preset": plan.settings.preset,
        "potential": plan.potential or _default_model_text(),
        "overrides": list(settings.overrides),
        "threads": settings.threads,
        "workers": settings.workers,
        "folder": str(folder),
        "n_atoms": results["n_atoms"],
        "n_replicas": results["n_replicas"],
        "stages_s": stages,
        "missing_stages": [name for name in RUN_STAGES if name not in stages],
        "resumed_stages": summary["inputs"].get("stages_read_from_disk", []),
        "stage_sum_s": round(sum(stages.values()), 3),
        "total_s": total_s,
    }


def _default_model_text() -> str:
    from thioglass.potential import default_model

    return f"default ({default_model()})"


def run_suite(settings: SuiteSettings, out: Path | str, *, on_stage: StageCallback | None = None,
              reporter: Any = None) -> dict[str, Any]:
    """Run every part not skipped and write one JSON record to ``out`` after each.

    Parameters
    ----------
    settings
        :class:`SuiteSettings`.
    out
        The JSON file; ``<stem>.summary.json`` and the run folder (:func:`run_folder`) go beside it.
        A record already there keeps the parts skipped now.
    on_stage
        Called with a short description as each step starts (for a progress display).
    reporter
        Progress receiver of the run part (:class:`~thioglass.workflow.stages.Reporter`).

    Returns
    -------
    dict
        What ``out`` holds.
    """
    from thioglass.runinfo import RunSummary

    out = Path(out)
    on_stage = on_stage or (lambda message: None)
    plan = check_suite(settings)
    record = {"benchmark": "suite", "settings": asdict(settings), "machine": machine_info(),
              "skipped": list(settings.skip), **_previous(out)}
    summary = RunSummary("bench", asdict(settings))
    summary.add_output("json", out)
    for part in settings.parts:
        on_stage(f"{part} benchmark")
        with summary.stage(part):
            if part == "run":
                folder = run_folder(out, plan.label, plan.settings.preset)
                summary.add_output("run", folder)
                result = run_record(plan, settings, folder, reporter)
            else:
                result = (analysis_record if part == "analysis" else md_record)(settings, on_stage)
        record[part] = {**result, "measured": datetime.now(timezone.utc).isoformat()}
        # Header first, then the parts in their order, whichever of them ran now.
        record = {**{k: v for k, v in record.items() if k not in PARTS}, **{n: record[n] for n in PARTS if n in record}}
        _write_atomic(record, out)
        summary.write(out.with_name(f"{out.stem}.summary.json"))
    return record


def _previous(out: Path) -> dict[str, Any]:
    """The record a former call left at ``out`` (its parts kept unless measured again), or a new one."""
    if not out.exists():
        return {}
    try:
        record = json.loads(out.read_text())
    except (OSError, json.JSONDecodeError):
        raise ThioglassError(f"{out} exists but is not a JSON file; pass another --out or delete it") from None
    if not isinstance(record, dict) or record.get("benchmark") != "suite":
        raise ThioglassError(f"{out} holds other results than a 'thioglass bench' record; pass another --out")
    return {part: record[part] for part in PARTS if part in record}


def _write_atomic(record: dict[str, Any], path: Path) -> None:
    # Written beside and renamed: an interrupted write leaves the former record whole.
    temporary = write_json(record, path.with_name(path.name + ".tmp"))
    os.replace(temporary, path)
