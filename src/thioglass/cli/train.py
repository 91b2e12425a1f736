"""``thioglass train``: an ensemble of DeePMD models (paper architecture by default) from a label store."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from thioglass.cli.options import Scheduler, Threads, Workers
from thioglass.cluster import dask_client


def train(
    store: Path = typer.Option(..., "--labels", "-l", help="Label store (from `thioglass label` or `learn`)."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder; a killed training resumes from its checkpoint."),
    architecture: str = typer.Option("paper", "--architecture", "-a", help="paper (the article's), fast, or fast-5.5 (the fast nets at rcut 5.5 Å)."),
    steps: int = typer.Option(400_000, "--steps", help="Training steps (the paper: 4 million)."),
    models: int = typer.Option(1, "--models", "-m", min=1, help="Ensemble size (4 for model deviation)."),
    seed: int = typer.Option(1, "--seed", help="Seed of the first model; model i uses seed + 1000 i."),
    validation: float = typer.Option(0.1, "--validation", help="Fraction of frames held out for validation."),
    compress: bool = typer.Option(True, "--compress/--no-compress", help="Also write the compressed model (fast MD)."),
    sel: Optional[str] = typer.Option(None, "--sel", help="Neighbours per type Li,Si,P,S (default: from the data)."),
    threads: Threads = 2,
    workers: Workers = 1,
    scheduler: Scheduler = None,
) -> None:
    """Train, freeze and compress DeePMD models; models train in parallel through Dask."""

    from rich.console import Console

    from thioglass.elements import TYPE_MAP
    from thioglass.io.atomic import write_json
    from thioglass.md.jobs import CallJob, run_jobs
    from thioglass.mlff.config import Schedule, TrainSettings
    from thioglass.mlff.config import architecture as named
    from thioglass.mlff.dataset import SplitSettings, write_training_sets
    from thioglass.mlff.train import neighbour_sel, train_model
    from thioglass.reference.label import LabelStore
    from thioglass.runinfo import RunSummary

    console = Console()
    arch = named(architecture)
    summary = RunSummary("train", {"labels": str(store), "architecture": architecture, "steps": steps,
                                   "models": models, "seed": seed})
    with summary.stage("data"):
        data = write_training_sets(LabelStore(store), out / "data", SplitSettings(validation, seed))
    chosen = tuple(int(x) for x in sel.split(",")) if sel else neighbour_sel(data["train"], arch.rcut_angstrom, TYPE_MAP)
    settings = TrainSettings(architecture=arch, seed=seed, sel=chosen,
                             schedule=Schedule(steps=steps, disp_freq=max(1, min(1000, steps // 20)),
                                               save_freq=max(1, min(10_000, steps // 10))))
    console.print(f"training {models} model(s), {architecture} architecture, sel {list(chosen)}, {steps} steps")
    jobs = [CallJob(f"model_{i}", train_model, (out / f"model_{i}", settings.with_(seed=seed + 1000 * i),
                                                 data["train"], data["validation"]),
                    {"compress": compress, "threads": threads}) for i in range(models)]
    with summary.stage("train"), dask_client(workers, scheduler) as client:
        outcome = run_jobs(jobs, client)
    outcome.raise_first()
    results = list(outcome.results.values())
    for result in results:
        console.print(f"{result.workdir}: step {result.steps}, validation force RMSE "
                      f"{result.final_rmse.get('rmse_f_val', float('nan')):.3f} eV/Å")
        summary.add_output(Path(result.workdir).name, result.compressed_model or result.frozen_model)
    write_json(out / "models.json", [r.__dict__ for r in results], indent=2)
    summary.write(out / "summary.json")
