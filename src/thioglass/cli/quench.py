"""``thioglass quench``: melt-quench replicas of a glass composition and report their density."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from thioglass.cli.options import Ensemble, OutDir, Potential, Preset, Scheduler, Seed, Threads, Workers
from thioglass.cluster import dask_client


def _setting(flag: str, text: str) -> typer.Option:
    return typer.Option(flag, help=f"{text} (default: the preset's).", rich_help_panel="Protocol overrides")


def quench(
    composition: Annotated[str, typer.Argument(help="Mol % of Li2S, SiS2, P2S5, e.g. 75Li2S-25P2S5.")],
    out: OutDir,
    preset: Preset = "quick",
    atoms: Annotated[Optional[int], _setting("--atoms", "Atoms per replica")] = None,
    replicas: Annotated[Optional[int], _setting("--replicas", "Independent replicas")] = None,
    melt_k: Annotated[Optional[float], _setting("--melt-k", "Melt temperature in K")] = None,
    melt_ps: Annotated[Optional[float], _setting("--melt-ps", "Melt (NVT) duration in ps")] = None,
    final_k: Annotated[Optional[float], _setting("--final-k", "Final temperature in K")] = None,
    cooling_rate: Annotated[Optional[float], _setting("--cooling-rate", "Cooling rate in K/s")] = None,
    anneal_ps: Annotated[Optional[float], _setting("--anneal-ps", "NPT duration at the final temperature, ps")] = None,
    anneal_max_ps: Annotated[Optional[float], _setting(
        "--anneal-max-ps", "Let the anneal run on, --anneal-ps at a time, until the density converges or this many ps")] = None,
    density_tolerance: Annotated[Optional[float], _setting(
        "--density-tolerance", "Largest density drift over the averaging window that counts as converged, g/cm3")] = None,
    pressure_bar: Annotated[Optional[float], _setting("--pressure-bar", "NPT pressure in bar")] = None,
    timestep_fs: Annotated[Optional[float], _setting("--timestep-fs", "MD timestep in fs")] = None,
    tdamp_ps: Annotated[Optional[float], _setting("--tdamp-ps", "Thermostat damping in ps")] = None,
    pdamp_ps: Annotated[Optional[float], _setting("--pdamp-ps", "Barostat damping in ps")] = None,
    dump_every_ps: Annotated[Optional[float], _setting("--dump-every-ps", "Trajectory frame interval in ps")] = None,
    seed: Seed = None,
    potential: Potential = None,
    ensemble: Ensemble = None,
    workers: Workers = 1,
    scheduler: Scheduler = None,
    threads: Threads = 2,
    checkpoint_every: Annotated[
        int, typer.Option("--checkpoint-every", min=1, help="Steps between checkpoints.")
    ] = 1000,
) -> None:
    """Melt, cool and anneal random-packed glasses (the paper's protocol by preset) and report the 300 K density.

    Rerunning with the same -o resumes: finished replicas are kept, unfinished ones continue from
    their last checkpoint.
    """
    from thioglass.md.protocol import melt_quench
    from thioglass.md.protocol import preset as make_preset
    from thioglass.md.quench import check_inputs, run_quench

    settings = make_preset(preset, n_atoms=atoms, replicas=replicas, melt_k=melt_k, melt_ps=melt_ps, final_k=final_k,
                           cooling_rate_k_per_s=cooling_rate, anneal_ps=anneal_ps, anneal_max_ps=anneal_max_ps,
                           density_tolerance_g_cm3=density_tolerance, pressure_bar=pressure_bar,
                           timestep_fs=timestep_fs, tdamp_ps=tdamp_ps, pdamp_ps=pdamp_ps, dump_every_ps=dump_every_ps,
                           seed=seed)
    # also checks the overrides (positive durations, temperatures); the bars run to the longest anneal allowed
    stages = melt_quench(settings, settings.max_extensions).stages
    check_inputs(composition, potential, settings)  # one-line errors before any cluster or progress bar starts
    from rich.console import Console

    from thioglass.cli.deviation import print_deviation, resolve_ensemble

    members = resolve_ensemble(Console(), potential, ensemble)
    with _Bars(stages, settings) as bars, dask_client(min(workers, settings.replicas), scheduler) as client:
        result = run_quench(composition, settings, potential, out, client, threads=threads,
                            checkpoint_every_steps=checkpoint_every, progress=bars.update, ensemble=members)
    _print_table(result, out)
    print_deviation(Console(), result.model_deviation)


class _Bars:
    """One Rich progress bar per replica over all stages of the protocol."""

    def __init__(self, stages, settings) -> None:
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                                   TimeRemainingColumn)

        steps = [s.steps(settings.timestep_fs) for s in stages]
        self.offsets = {s.name: sum(steps[:k]) for k, s in enumerate(stages)}
        self.total = sum(steps)
        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("steps"), TimeElapsedColumn(), TimeRemainingColumn(), transient=False)
        self.tasks = {r: self.progress.add_task(f"replica {r}", total=self.total) for r in range(settings.replicas)}

    def __enter__(self) -> "_Bars":
        self.progress.start()
        return self

    def __exit__(self, *exc) -> None:
        self.progress.stop()

    def update(self, replica: int, stage: str, step: int, total: int) -> None:
        self.progress.update(self.tasks[replica], completed=self.offsets[stage] + step,
                             description=f"replica {replica} {stage:>6}")


def _print_table(result, out) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{result.composition}: density after the quench")
    for column in ("replica", "atoms", "density g/cm3", "T K", "P bar", "MD wall s"):
        table.add_column(column, justify="right")
    for r in result.replicas:
        table.add_row(str(r["replica"]), str(r["n_atoms"]),
                      f"{r['density_g_cm3']:.4f} ± {r['density_time_std_g_cm3']:.4f}",
                      f"{r['temperature_k']:.1f}", f"{r['pressure_bar']:.0f}", f"{r['wall_s']:.1f}")
    stats = result.density_summary()
    table.add_row("mean", "", f"{stats['mean']:.4f} ± {stats['std']:.4f}", "", "", "", style="bold")
    console = Console()
    console.print(table)
    console.print(f"wrote {out / 'quench.json'} and {out / 'summary.json'}")
