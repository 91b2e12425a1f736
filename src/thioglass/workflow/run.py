"""``thioglass run``: one glass from composition to report, resumable stage by stage.

Layout of the run folder::

    job.json            composition, potential, settings (a rerun must match them)
    quench/             replicas, their trajectories and final glasses (thioglass.md.quench)
    quench.json         stage outputs: a stage whose JSON exists is not redone
    structure.json
    elastic/ elastic.json
    conductivity/ conductivity.json
    rotation.json
    plots/*.png         every figure of the report
    results.json        the numbers (density, Q^n, E^n, elastic, conductivity, rotation, comparison)
    summary.json        inputs, versions, wall time of every stage (build: the replicas' random packing,
                        timed apart from the quench; kept in quench.json as build_wall_s)
    report.html         one self-contained page

A killed run rerun with the same command keeps every finished stage and the MD engines resume
the unfinished one from their checkpoints. Free disk space is checked against an estimate before
any work starts, and a full disk during the run stops it with a one-line error, leaving what was
finished in place.
"""

from __future__ import annotations

import errno
import json
import shutil
import time
from dataclasses import asdict
from pathlib import Path
from typing import Iterable, Sequence

from thioglass.errors import ThioglassError
from thioglass.locking import locked_folder
from thioglass.io.atomic import write_bytes, write_json, write_text
from thioglass.md.jobs import check_job_file
from thioglass.workflow.settings import RunSettings
from thioglass.workflow.stages import OPTIONAL, STAGES, Context, NullReporter, Reporter

#: Trajectory bytes per atom and frame (extxyz with its ``unwrapped`` column; LAMMPS dumps take about half).
BYTES_PER_ATOM_FRAME = 120
#: Room for plots, the report, thermo and restart files.
FIXED_BYTES = 50 * 2**20
#: Frames the MD elastic route dumps: a reference run and 12 strained runs (6 Voigt directions,
#: both signs), each dumping every tenth of its length (10 frames) plus its first frame.
ELASTIC_MD_FRAMES = (1 + 12) * (10 + 1)


@locked_folder("out_dir", what="run")
def run_glass(composition: str, settings: RunSettings, potential: str | None, out_dir: Path | str, *,
              threads: int = 2, workers: int = 1, scheduler: str | None = None, skip: Iterable[str] = (),
              reporter: Reporter | None = None, ensemble: Sequence[str] | None = None) -> dict:
    """Build, melt-quench and measure one glass; write results.json, summary.json and report.html.

    Parameters
    ----------
    composition
        e.g. ``"75Li2S-25P2S5"``.
    settings
        :func:`~thioglass.workflow.settings.run_settings`.
    potential
        As for :func:`~thioglass.md.engine.make_engine` (None: the shipped model).
    out_dir
        Run folder (layout in the module docstring); rerunning into it resumes.
    threads, workers, scheduler
        Threads of each MD run; Dask workers (1: run here) or a scheduler address/queue.
    skip
        Any of ``elastic``, ``conductivity``, ``rotation``.
    reporter
        Progress receiver (:class:`~thioglass.workflow.stages.Reporter`).
    ensemble
        Ensemble members of a user's ``.pb`` (``--ensemble``; the shipped model brings its own), checked
        here; every MD stage records their force deviation (``model_deviation`` in ``results.json``).

    Returns
    -------
    dict
        What ``results.json`` holds.
    """
    from thioglass.cluster import dask_client
    from thioglass.md.quench import check_inputs
    from thioglass.runinfo import RunSummary

    from thioglass.mlff.ensemble import ensemble_for

    label, potential = check_inputs(composition, potential, settings.quench)
    members = tuple(str(m.resolve()) for m in ensemble_for(potential, ensemble)) if ensemble else None
    skipped = check_skip(skip)
    out = Path(out_dir).resolve()
    todo = [name for name in STAGES if name not in skipped and not (out / f"{name}.json").exists()]
    need = estimate_disk_bytes(settings, todo)
    check_disk_space(out, need)
    check_job_file(out, {"composition": label, "potential": potential, "settings": asdict(settings),
                         **({"ensemble": list(members)} if members else {})}, "run")
    reporter = reporter or NullReporter()
    summary = RunSummary("run", {"composition": label, "preset": settings.preset, "potential": potential,
                                 "settings": asdict(settings), "threads": threads, "workers": workers,
                                 "scheduler": scheduler, "skip": sorted(skipped)})
    try:
        with dask_client(workers, scheduler) as client:
            ctx = Context(label, settings, potential, out, threads, client, reporter, ensemble=members)
            resumed = _run_stages(ctx, skipped)
        summary.inputs["stages_read_from_disk"] = resumed
        return finish(ctx, summary)
    except OSError as err:
        if err.errno == errno.ENOSPC:
            raise ThioglassError(f"the disk holding {out} is full; this run needs about {_size(need)} more: free "
                                 "space and rerun the same command (finished stages are kept)") from None
        raise


def check_skip(skip: Iterable[str]) -> frozenset[str]:
    """The stages to skip, checked (quench and structure cannot be skipped)."""
    names = frozenset(s.strip() for item in skip for s in item.split(",") if s.strip())
    unknown = sorted(names - set(OPTIONAL))
    if unknown:
        raise ThioglassError(f"cannot skip {', '.join(unknown)}; --skip takes any of {', '.join(OPTIONAL)}")
    return names


def _run_stages(ctx: Context, skipped: frozenset[str]) -> list[str]:
    resumed = []
    for name, function in STAGES.items():
        if name in skipped:
            ctx.reporter.stage(name, "skipped")
            continue
        path = ctx.out / f"{name}.json"
        if path.exists():
            ctx.records[name] = json.loads(path.read_text())
            resumed.append(name)
            ctx.reporter.stage(name, "resumed")
            continue
        build_s = build_replicas(ctx) if name == "quench" else None
        ctx.reporter.stage(name, "start")
        start = time.perf_counter()
        record = function(ctx)
        record["wall_s"] = round(time.perf_counter() - start, 3)
        if build_s is not None:
            record["build_wall_s"] = build_s
        write_json(path, record)
        ctx.records[name] = record
        ctx.reporter.stage(name, "done")
    return resumed


def build_replicas(ctx: Context) -> float:
    """Random-pack the start of every unfinished replica where the quench reads it; the seconds taken.

    The quench would build them itself; building them first gives ``build`` its own wall time.
    """
    from thioglass.md.quench import QuenchJob

    ctx.reporter.stage("build", "start")
    start = time.perf_counter()
    q = ctx.settings.quench
    for replica in range(q.replicas):
        job = QuenchJob(ctx.label, q, ctx.potential, str(ctx.out / "quench"), replica)
        if not (job.folder / "replica.json").exists():
            job.start_structure()  # the quench reads back exactly this file
    ctx.reporter.stage("build", "done")
    return round(time.perf_counter() - start, 3)


def finish(ctx: Context, summary) -> dict:
    """results.json, plots, summary.json and report.html from the stage outputs."""
    from thioglass.report.html import render_run_report, run_figures
    from thioglass.report.plots import png_bytes

    start = time.perf_counter()
    results = assemble(ctx)
    write_json(ctx.out / "results.json", results)
    figures = run_figures(ctx.records["structure"], ctx.records.get("conductivity"), ctx.records.get("rotation"),
                          run_deviation(ctx.out, series=True) if results["model_deviation"] else None)
    pngs = {name: png_bytes(figure) for name, figure in figures.items()}
    for name, png in pngs.items():
        write_bytes(ctx.out / "plots" / f"{name}.png", png)
    for name, record in ctx.records.items():
        if "build_wall_s" in record:
            summary.timings_s["build"] = record["build_wall_s"]
        summary.timings_s[name] = record["wall_s"]
        summary.add_output(name, ctx.out / f"{name}.json")
    for name in ("results", "summary", "report"):
        summary.add_output(name, ctx.out / f"{name}.{'html' if name == 'report' else 'json'}")
    summary.add_output("plots", ctx.out / "plots")
    summary.timings_s["report"] = round(time.perf_counter() - start, 3)
    summary.write(ctx.out / "summary.json")
    record = json.loads((ctx.out / "summary.json").read_text())
    write_text(ctx.out / "report.html", render_run_report(results, record, pngs))
    return results


def assemble(ctx: Context) -> dict:
    """The numbers of a run (``results.json``) from its stage outputs."""
    from thioglass.analysis.density import DENSITY_DRIFT_KEYS
    from thioglass.potential import force_field_summary
    from thioglass.paper.compare import comparison_rows
    from thioglass.paper.values import glass_key
    from thioglass.workflow.convergence import convergence

    quench, structure = ctx.records["quench"], ctx.records["structure"]
    density = quench["density_g_cm3"]
    first = ctx.first_replica()
    rotation = ctx.records.get("rotation")
    results = {
        "composition": ctx.label,
        "paper_glass": glass_key(ctx.label),
        "preset": ctx.settings.preset,
        "potential": ctx.potential or "default",
        "force_field": force_field_summary(ctx.potential),
        "formula": first["formula"],
        "n_atoms": first["n_atoms"],
        "n_replicas": density["n_replicas"],
        "density_g_cm3": density["mean"],
        "density_std_g_cm3": density["std"],
        "density_sem_g_cm3": density["sem"],
        "density_replicas": [{k: r.get(k) for k in ("replica", "seed", "n_atoms", "density_g_cm3", "density_time_std_g_cm3",
                                                    "temperature_k", "pressure_bar", "wall_s", *DENSITY_DRIFT_KEYS,
                                                    "density_converged", "anneal_extensions", "anneal_total_ps")}
                             for r in quench["replicas"]],
        "density_window": quench["density_window"],
        "density_converged": quench.get("density_converged"),
        **{key: structure[key] for key in ("qn", "qn_std", "en", "en_std", "bonds", "environments", "sulfur",
                                           "coordination", "rdf", "sq")},
        "structure_frames": structure["n_frames"],
        "elastic": ctx.records.get("elastic"),
        "conductivity": ctx.records.get("conductivity"),
        "rotation": None if rotation is None else {k: v for k, v in rotation.items() if k != "table"},
        "settings": asdict(ctx.settings),
        "model_deviation": run_deviation(ctx.out),
    }
    results["comparison"] = comparison_rows(ctx.label, results)
    results["convergence"] = convergence(results)
    return results


def run_deviation(out: Path, *, series: bool = False) -> dict:
    """``model_deviation``: the ensemble's force deviation of every MD stage of the run, keyed
    ``quench/<stage>`` (replicas pooled), ``elastic/<stage>`` (MD route; strains pooled) and
    ``conductivity/T<T>K/<stage>``; empty when the potential has no ensemble. ``series``: the per-frame
    values against time instead (:func:`~thioglass.md.results.deviation_series`), for the plot."""
    from thioglass.md.results import deviation_by_stage, deviation_series

    read = deviation_series if series else deviation_by_stage
    return {**read(out / "quench", "quench"), **read(out / "elastic", "elastic"),
            **read(out / "conductivity", "conductivity", per_run=True)}


def estimate_disk_bytes(settings: RunSettings, stages: Iterable[str]) -> int:
    """Bytes the trajectories of ``stages`` will take (an upper estimate), plus room for the rest."""
    from thioglass.md.protocol import melt_quench

    stages = set(stages)
    q, plan = settings.quench, settings.conductivity
    frames = 0.0
    if "quench" in stages:
        frames += q.replicas * sum(s.duration_ps / s.dump_every_ps + 1 for s in melt_quench(q).stages)
    if "elastic" in stages:
        frames += ELASTIC_MD_FRAMES
    if "conductivity" in stages:
        frames += sum(plan.production_ps_at(t) / plan.dump_every_ps + 12 for t in plan.temperatures_k)
    return int(1.25 * frames * q.n_atoms * BYTES_PER_ATOM_FRAME) + FIXED_BYTES


def check_disk_space(out: Path, need_bytes: int) -> None:
    """Raise a one-line error when the disk holding ``out`` has less than ``need_bytes`` free."""
    existing = out
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    free = shutil.disk_usage(existing).free
    if free < need_bytes:
        raise ThioglassError(f"not enough disk space for this run in {out}: it needs about {_size(need_bytes)} and "
                             f"{_size(free)} is free; free some space or pass --out on a larger disk")


def _size(n_bytes: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n_bytes < 1024 or unit == "GB":
            return f"{n_bytes:.0f} {unit}" if unit == "B" else f"{n_bytes:.1f} {unit}"
        n_bytes /= 1024
    return f"{n_bytes:.1f} TB"
