"""``thioglass run``: one glass from composition to report (build, quench, structure, elastic, conductivity, rotation)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from thioglass.cli.options import Ensemble, Potential, Preset, Scheduler, Seed, Threads, Workers

Settings = Annotated[
    Optional[list[str]],
    typer.Option("--set", help="Override any setting: section.field=value, e.g. quench.melt_k=400 or "
                 "elastic.production_ps=5 (sections: quench, elastic, conductivity, rotation, structure, lattice). "
                 "Repeat for more."),
]
Skip = Annotated[
    Optional[str], typer.Option("--skip", help="Stages to leave out: any of elastic,conductivity,rotation.")
]
Replicas = Annotated[Optional[int], typer.Option("--replicas", min=1, help="Independent glasses (default: the preset's).")]
Atoms = Annotated[Optional[int], typer.Option("--atoms", min=2, help="Atoms per glass (default: the preset's).")]
Temperatures = Annotated[
    Optional[list[str]],
    typer.Option("--temperatures", "-T", help="Conductivity temperatures in K: 300,350,400 or 300:650:50 (both ends included), or repeat -T."),
]


def run(
    composition: Annotated[str, typer.Argument(help="Mol % of Li2S, SiS2, P2S5, e.g. 75Li2S-25P2S5.")],
    preset: Preset = "quick",
    potential: Potential = None,
    ensemble: Ensemble = None,
    replicas: Replicas = None,
    atoms: Atoms = None,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Run folder (default runs/<composition>-<preset>); "
                                                "rerunning into it resumes.")] = None,
    temperatures: Temperatures = None,
    skip: Skip = None,
    settings: Settings = None,
    workers: Workers = 1,
    threads: Threads = 2,
    scheduler: Scheduler = None,
    seed: Seed = None,
) -> None:
    """Build and melt-quench a glass, then its density, RDFs, S(Q), Q^n/E^n, elastic moduli, Li conductivity
    (Arrhenius) and paddle-wheel rotation, beside the paper's and the experimental values: results.json,
    summary.json and a self-contained report.html. Rerun the same command to resume a killed run."""
    from rich.console import Console

    from thioglass.cli.deviation import print_deviation, resolve_ensemble
    from thioglass.composition import parse_composition
    from thioglass.md.quench import check_inputs
    from thioglass.workflow.run import run_glass
    from thioglass.workflow.settings import run_settings

    config = run_settings(preset, collect_overrides(settings, replicas, atoms, temperatures), seed=seed)
    label = parse_composition(composition).label
    folder = out or Path("runs") / f"{label}-{preset}"
    check_inputs(label, potential, config.quench)  # before the live display, so an error is one clean line
    console = Console()
    print_domain_check(console, label, potential)
    members = resolve_ensemble(console, potential, ensemble)
    with RichReporter(console) as reporter:
        results = run_glass(label, config, potential, folder, threads=threads, workers=workers, scheduler=scheduler,
                            skip=[skip] if skip else [], reporter=reporter, ensemble=members)
    print_results(console, results, folder)
    print_deviation(console, results.get("model_deviation"))


def print_domain_check(console, label: str, potential: str | None) -> None:
    """Where the composition lies on the shipped model's domain map: a warning outside its trusted region."""
    from thioglass.workflow.domain_map import domain_check

    check = domain_check(label, potential)
    if check is not None:
        style = "[yellow]warning:[/yellow]" if check.level == "warning" else "[dim]note:[/dim]"
        console.print(f"{style} {check.text}", highlight=False)


def collect_overrides(settings: list[str] | None, replicas: int | None, atoms: int | None,
                      temperatures: list[str] | None) -> list[str]:
    """``--set`` items plus the shortcuts --replicas, --atoms and --temperatures."""
    overrides = list(settings or [])
    overrides += [f"quench.replicas={replicas}"] if replicas else []
    overrides += [f"quench.n_atoms={atoms}"] if atoms else []
    if temperatures:
        from thioglass.cli.conductivity import parse_temperatures

        overrides.append("conductivity.temperatures_k=" + ",".join(f"{t:g}" for t in parse_temperatures(temperatures)))
    return overrides


class RichReporter:
    """Rich progress: a line per stage, a bar per MD job or analysis."""

    def __init__(self, console) -> None:
        import time

        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.console = console
        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), console=console, transient=True)
        self.tasks: dict[tuple[str, str], int] = {}
        self.started: dict[str, float] = {}
        self.clock = time.perf_counter

    def __enter__(self) -> "RichReporter":
        self.progress.start()
        return self

    def __exit__(self, *exc) -> None:
        self.progress.stop()

    def stage(self, name: str, status: str) -> None:
        if status == "start":
            self.started[name] = self.clock()
            self.console.print(f"[bold]{name}[/bold]: running")
        elif status == "done":
            for key in [k for k in self.tasks if k[0] == name]:
                self.progress.remove_task(self.tasks.pop(key))
            self.console.print(f"[bold]{name}[/bold]: [green]done[/green] in {self.clock() - self.started[name]:.1f} s")
        elif status == "resumed":
            self.console.print(f"[bold]{name}[/bold]: done before, read from {name}.json")
        else:
            self.console.print(f"[bold]{name}[/bold]: [yellow]{status}[/yellow]")

    def job(self, stage: str, job: str, done: int, total: int | None) -> None:
        key = (stage, job)
        if key not in self.tasks:
            unit = "steps" if total else "frames"
            self.tasks[key] = self.progress.add_task(f"{stage}: {job} ({unit})", total=total)
        self.progress.update(self.tasks[key], completed=done)


def print_results(console, results: dict, folder: Path) -> None:
    """The summary table: our values beside the paper's and the experiments'."""
    from rich.table import Table

    from thioglass.paper.compare import QUANTITIES, our_value

    refs: dict[str, dict[str, str]] = {}
    for row in results["comparison"]:
        text = f"{row['low']:g}-{row['high']:g}" if row["low"] is not None else f"{row['reference']:g}"
        if row["deviation_percent"] is not None:
            text += f" ({row['deviation_percent']:+.0f} %)"
        refs.setdefault(row["key"], {}).setdefault(row["kind"], text)
    table = Table(title=f"{results['composition']} ({results['formula']}, {results['n_replicas']} replica(s), "
                        f"preset {results['preset']})")
    for column in ("quantity", "ours", "paper (dev.)", "experiment (dev.)"):
        table.add_column(column, justify="left" if column == "quantity" else "right")
    for key, (label, unit, _, _) in QUANTITIES.items():
        value, spread = our_value(results, key)
        ours = "-" if value is None else f"{value:.4g}" + (f" ± {spread:.2g}" if spread else "")
        table.add_row(f"{label} ({unit})" if unit else label, ours, refs.get(key, {}).get("paper", ""),
                      refs.get(key, {}).get("experiment", ""))
    populations = {(r["key"], r["kind"]): r["reference"] for r in results["comparison"]}
    for kind in ("qn", "en"):
        for former, values in (results.get(kind) or {}).items():
            cells = []
            for source in (None, "paper", "experiment"):
                shares = {n: pct if source is None else populations.get((f"{kind}.{former}.{n}", source))
                          for n, pct in values.items()}
                cells.append("  ".join(f"{n}: {v:.1f}" for n, v in shares.items() if v is not None and v > 0.05))
            table.add_row(f"{former} {'Q' if kind == 'qn' else 'E'}^n (%)", cells[0] or "-", *cells[1:])
    console.print(table)
    warnings = (results.get("conductivity") or {}).get("warnings", [])
    for warning in warnings:
        console.print(f"[yellow]warning:[/yellow] {warning}")
    console.print(f"report: {folder / 'report.html'}   results: {folder / 'results.json'}")
