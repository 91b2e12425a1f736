"""``thioglass validate``: the paper's five glasses and the Li10SiP2S12 lattice, beside Tables 1-7 and experiment."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from thioglass.cli.options import Ensemble, OutDir, Potential, Preset, Scheduler, Seed, Threads, Workers
from thioglass.cli.run import Atoms, Replicas, Settings, Skip, Temperatures


def validate(
    out: OutDir,
    preset: Preset = "quick",
    potential: Potential = None,
    ensemble: Ensemble = None,
    glasses: Annotated[Optional[list[str]], typer.Option(
        "--glass", help="Run only this glass (repeat for more; default: the paper's five).")] = None,
    lattice: Annotated[bool, typer.Option("--lattice/--no-lattice", help="Run the Li10SiP2S12 lattice at 300 K.")] = True,
    replicas: Replicas = None,
    atoms: Atoms = None,
    temperatures: Temperatures = None,
    skip: Skip = None,
    settings: Settings = None,
    workers: Workers = 1,
    threads: Threads = 2,
    scheduler: Scheduler = None,
    seed: Seed = None,
) -> None:
    """Run the paper's glasses (50Li2S-50SiS2, 67/70/75Li2S-P2S5, 60Li2S-32SiS2-8P2S5) and the Li10SiP2S12
    lattice; write validation.json and one validation.html with the deviation of every value from the paper's
    and the experiments'. Rerun the same command to resume."""
    from rich.console import Console
    from rich.table import Table

    from thioglass.cli.deviation import print_deviation, resolve_ensemble
    from thioglass.cli.run import RichReporter, collect_overrides
    from thioglass.paper.values import GLASSES
    from thioglass.workflow.settings import run_settings
    from thioglass.workflow.validate import run_validation

    config = run_settings(preset, collect_overrides(settings, replicas, atoms, temperatures), seed=seed)
    console = Console()
    members = resolve_ensemble(console, potential, ensemble)
    with RichReporter(console) as reporter:
        result = run_validation(config, potential, out, glasses=glasses or GLASSES, lattice=lattice, threads=threads,
                                workers=workers, scheduler=scheduler, skip=[skip] if skip else [], reporter=reporter,
                                ensemble=members)
    table = Table(title=f"Validation ({preset})")
    for column in ("system", "quantity", "ours", "reference", "kind", "deviation %"):
        table.add_column(column, justify="left" if column in ("system", "quantity", "kind") else "right")
    rows = [(g["composition"], r) for g in result["glasses"] for r in g["comparison"]]
    rows += [("Li10SiP2S12", r) for r in (result["lattice"] or {}).get("comparison", [])]
    for system, r in rows:
        if r["key"].startswith(("qn.", "en.")):
            continue  # the page has them; the terminal keeps to the scalars
        ref = f"{r['low']:g}-{r['high']:g}" if r["low"] is not None else f"{r['reference']:g}"
        ours = "-" if r["ours"] is None else f"{r['ours']:.4g}"
        dev = "-" if r["deviation_percent"] is None else f"{r['deviation_percent']:+.1f}"
        table.add_row(system, r["label"], ours, ref, r["kind"], dev)
    console.print(table)
    entries = [*result["glasses"], {"composition": "Li10SiP2S12", **(result["lattice"] or {})}]
    print_deviation(console, {f"{g['composition']} {stage}": stats for g in entries
                              for stage, stats in (g.get("model_deviation") or {}).items()})
    console.print(f"report: {out / 'validation.html'}")
