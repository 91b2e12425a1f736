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
    architecture: Optional[str] = typer.Option(None, "--architecture", "-a", help="paper (the article's, the default), fast, or fast-5.5 (the fast nets at rcut 5.5 Å); a fine-tune inherits its base's."),
    steps: int = typer.Option(400_000, "--steps", help="Training steps (the paper: 4 million)."),
    models: int = typer.Option(1, "--models", "-m", min=1, help="Ensemble size (4 for model deviation)."),
    seed: int = typer.Option(1, "--seed", help="Seed of the first model; model i uses seed + 1000 i."),
    validation: float = typer.Option(0.1, "--validation", help="Fraction of frames held out for validation."),
    compress: bool = typer.Option(True, "--compress/--no-compress", help="Also write the compressed model (fast MD)."),
    sel: Optional[str] = typer.Option(None, "--sel", help="Neighbours per type Li,Si,P,S (default: from the data)."),
    init_model: Optional[str] = typer.Option(None, "--init-model", help="Fine-tune: frozen model(s) to start from, one per model (base.pb or m1.pb,m2.pb); the net, cutoff and sel are the base's, and the labels' energy zero is moved onto the base's per element."),
    start_lr: Optional[float] = typer.Option(None, "--start-lr", help="Starting learning rate (default 2e-3, or 1e-4 for a fine-tune)."),
    threads: Threads = 2,
    workers: Workers = 1,
    scheduler: Scheduler = None,
) -> None:
    """Train, freeze and compress DeePMD models, or fine-tune trained ones; models train in parallel through Dask."""

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
    bases = _bases(init_model, models, architecture, sel)
    summary = RunSummary("train", {"labels": str(store), "architecture": architecture, "steps": steps,
                                   "models": models, "seed": seed, "init_model": list(bases), "start_lr": start_lr})
    if bases:
        from thioglass.mlff.dataset import store_frames
        from thioglass.mlff.finetune import prepare_finetune

        with summary.stage("energy zero"):
            settings, shift = prepare_finetune(bases[0], list(store_frames(LabelStore(store))), steps=steps,
                                               start_lr=start_lr, seed=seed)
        console.print("fine-tune: label energies moved onto the base's zero by "
                      + ", ".join(f"{e} {v:+.3f}" for e, v in shift.items()) + " eV per atom")
        write_json(out / "energy-shift.json", {"base": bases[0], "shift_eV_per_atom": shift}, indent=2)
    else:
        arch, shift = named(architecture or "paper"), None
        schedule = Schedule.sized(steps, **({"start_lr": start_lr} if start_lr else {}))
        settings = TrainSettings(architecture=arch, seed=seed, schedule=schedule)
    with summary.stage("data"):
        data = write_training_sets(LabelStore(store), out / "data", SplitSettings(validation, seed),
                                   energy_shift_ev=shift)
    if settings.sel is None:
        settings = settings.with_(sel=tuple(int(x) for x in sel.split(",")) if sel else
                                  neighbour_sel(data["train"], settings.architecture.rcut_angstrom, TYPE_MAP))
    what = f"fine-tuning {models} model(s) from {', '.join(dict.fromkeys(bases))}" if bases else \
        f"training {models} model(s), {architecture or 'paper'} architecture"
    console.print(f"{what}, sel {list(settings.sel)}, {steps} steps")
    jobs = [CallJob(f"model_{i}", train_model, (out / f"model_{i}", settings.with_(seed=seed + 1000 * i),
                                                 data["train"], data["validation"]),
                    {"compress": compress, "threads": threads, "init_model": bases[i] if bases else None})
            for i in range(models)]
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


def _bases(init_model: str | None, models: int, architecture: str | None, sel: str | None) -> tuple[str, ...]:
    """The frozen models a fine-tune starts from, one per model, checked before any work."""
    from thioglass.checks import check_deepmd_model
    from thioglass.errors import ThioglassError

    if not init_model:
        return ()
    bases = tuple(part.strip() for part in init_model.split(",") if part.strip())
    if len(bases) == 1:
        bases *= models
    if len(bases) != models:
        raise ThioglassError(f"--init-model gives {len(bases)} models for --models {models}; give one, or one per model")
    if architecture or sel:
        raise ThioglassError("a fine-tune inherits its base's net, cutoff and sel; leave out --architecture and --sel")
    for base in bases:
        check_deepmd_model(base)
    return bases
