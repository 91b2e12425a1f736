"""``thioglass domain``: map where in the Li2S-SiS2-P2S5 triangle the model stays inside its trust window."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from thioglass.cli.options import Ensemble, Potential, Scheduler, Seed, Threads, Workers

DomainPreset = Annotated[str, typer.Option("--preset", help="standard (10 mol % grid, 2 ps stages), coarse (20 mol "
                                           "%, 0.5 ps; the shipped map) or smoke (seconds).")]


def domain(
    out: Annotated[Path, typer.Option("--out", "-o", help="Scan folder; rerunning into it resumes.")],
    preset: DomainPreset = "coarse",
    potential: Potential = None,
    ensemble: Ensemble = None,
    step: Annotated[Optional[float], typer.Option("--step", help="Grid step in mol % (divides 100).")] = None,
    max_li2s: Annotated[Optional[float], typer.Option("--max-li2s", help="Largest Li2S share in mol %.")] = None,
    atoms: Annotated[Optional[int], typer.Option("--atoms", min=2, help="Atoms per cell.")] = None,
    workers: Workers = 1,
    threads: Threads = 1,
    scheduler: Scheduler = None,
    seed: Seed = None,
) -> None:
    """Quench a small cell of every composition of a grid over the Li2S-SiS2-P2S5 triangle (and the paper's
    glasses), hold it at 300 K and 650 K, and record the ensemble's force deviation: domain.json (each
    composition trusted, uncertain or outside the trust window 0.2/0.4 eV/Å) and a ternary plot
    (domain-map.png/.svg). Rerun the same command to resume: finished compositions are kept."""
    from rich.console import Console

    from thioglass.cluster import dask_client
    from thioglass.mlff.ensemble import parse_members
    from thioglass.workflow.domain import composition_grid, domain_preset, resolve_model, scan_domain

    settings = domain_preset(preset, step_mol_percent=step, max_li2s_mol_percent=max_li2s, n_atoms=atoms, seed=seed)
    members = parse_members(ensemble)
    resolve_model(potential, members)  # one line on a potential without an ensemble, before anything starts
    labels, skipped = composition_grid(settings)
    console = Console()
    console.print(f"{len(labels)} compositions, {settings.n_atoms} atoms each" +
                  (f"; left out (cell too small): {', '.join(skipped)}" if skipped else ""))
    with _Bar(console, len(labels)) as bar, dask_client(min(workers, len(labels)), scheduler) as client:
        result = scan_domain(settings, potential, out, client, ensemble=members, threads=threads,
                             progress=bar.job, on_point=bar.point)
    _print_table(console, result, out)


class _Bar:
    """A bar over compositions and one line per finished composition."""

    def __init__(self, console, total: int) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.console = console
        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), console=console, transient=True)
        self.task = self.progress.add_task("compositions", total=total)
        self.steps: dict[str, int] = {}

    def __enter__(self) -> "_Bar":
        self.progress.start()
        return self

    def __exit__(self, *exc) -> None:
        self.progress.stop()

    def job(self, name: str, done: int, total: int | None) -> None:
        if name not in self.steps:
            self.steps[name] = self.progress.add_task(f"  {name} (steps)", total=total)
        self.progress.update(self.steps[name], completed=done)

    def point(self, point: dict) -> None:
        task = self.steps.pop(point["composition"], None)
        if task is not None:
            self.progress.remove_task(task)
        self.progress.advance(self.task)
        self.console.print(f"{point['composition']}: {point['verdict']}" +
                           (f" ({point['failed']})" if point.get("failed") else ""))


def _print_table(console, domain: dict, out: Path) -> None:
    from rich.table import Table

    members = len(domain["model"]["ensemble"])
    table = Table(title=f"Model domain: {domain['model']['file']} and {members} ensemble member"
                        f"{'s' if members != 1 else ''}")
    for column in ("composition", "atoms", "verdict", "decided by", "p99 eV/Å", "max eV/Å", "> 0.2 eV/Å"):
        table.add_column(column, justify="left" if column in ("composition", "verdict", "decided by") else "right",
                         no_wrap=column == "composition")
    for point in domain["points"]:
        stats = point["stages"].get(point["decided_by"] or "", {})
        decided = "failed" if point.get("failed") else point["decided_by"] or "-"
        table.add_row(point["composition"], str(point["n_atoms"] or "-"), point["verdict"], decided,
                      f"{stats['p99_eV_A']:.3f}" if stats else "-", f"{stats['max_eV_A']:.3f}" if stats else "-",
                      f"{100 * stats['share_above_low']:.1f} %" if stats else "-")
    console.print(table)
    counts = ", ".join(f"{n} {verdict}" for verdict, n in domain["counts"].items())
    console.print(f"{counts}; wrote {out / 'domain.json'} and {out / 'domain-map.png'}")
