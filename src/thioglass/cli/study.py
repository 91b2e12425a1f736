"""``thioglass study``: density, Q^n and moduli of a glass against cooling rate and cell size."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from thioglass.cli.options import Potential, Scheduler, Seed, Threads, Workers
from thioglass.cli.run import Settings


def _numbers(text: str, option: str, kind: type) -> tuple:
    from thioglass.errors import ThioglassError

    try:
        return tuple(kind(float(x)) for x in text.replace(",", " ").split())
    except ValueError:
        raise ThioglassError(f"cannot read {option} '{text}'; give numbers separated by commas, e.g. "
                             f"{'5e12,5e13' if kind is float else '300,1000'}") from None


def study(
    composition: Annotated[str, typer.Argument(help="Mol % of Li2S, SiS2, P2S5, e.g. 75Li2S-25P2S5.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Study folder; rerunning into it resumes.")],
    rates: Annotated[str, typer.Option("--rates", help="Cooling rates in K/s, e.g. 5e12,2e13,1e14.")],
    sizes: Annotated[str, typer.Option("--sizes", help="Atoms per glass, e.g. 300,1000.")] = "300",
    grid: Annotated[str, typer.Option("--grid", help="full: every rate at every size; cross: every rate at the "
                                      "smallest size and every size at the slowest rate.")] = "full",
    replicas: Annotated[int, typer.Option("--replicas", min=2, help="Independent glasses per point.")] = 3,
    base: Annotated[str, typer.Option("--base", help="Preset whose other settings (melt, anneal, elastic route) "
                                      "every point uses: smoke, quick or paper.")] = "quick",
    settings: Settings = None,
    density_tol: Annotated[float, typer.Option("--density-tol", help="Agreement in density, g/cm3.")] = 0.02,
    qn_tol: Annotated[float, typer.Option("--qn-tol", help="Agreement of each Q^n share, percentage points.")] = 5.0,
    moduli_tol: Annotated[float, typer.Option("--moduli-tol", help="Agreement of B and G, as a fraction.")] = 0.10,
    potential: Potential = None,
    workers: Workers = 1,
    threads: Threads = 1,
    scheduler: Scheduler = None,
    seed: Seed = None,
) -> None:
    """Melt-quench REPLICAS glasses at every cooling rate and cell size, measure each glass's density, Q^n and
    bulk and shear moduli, and compare every point with the largest, slowest-cooled one: study.json (the
    cheapest point that agrees within the tolerances) and study.png. The evidence a protocol is picked from.
    Rerun the same command to resume: finished points and replicas are kept."""
    from rich.console import Console

    from thioglass.cluster import dask_client
    from thioglass.composition import parse_composition
    from thioglass.workflow.study import StudySettings, run_study

    label = parse_composition(composition).label  # one line on a bad composition before anything prints

    config = StudySettings(_numbers(rates, "--rates", float), _numbers(sizes, "--sizes", int), replicas=replicas,
                           base_preset=base, overrides=tuple(settings or ()), seed=1 if seed is None else seed,
                           density_tolerance_g_cm3=density_tol, qn_tolerance_percent=qn_tol,
                           moduli_tolerance_fraction=moduli_tol, grid=grid)
    console = Console()
    console.print(f"{len(config.points())} points x {replicas} replicas of {label}")
    with dask_client(min(workers, replicas), scheduler) as client:
        result = run_study(label, config, potential, out, client, threads=threads,
                           on_point=lambda p: console.print(f"{p['point']}: done"))
    _print_table(console, result, out)


def _print_table(console, study: dict, out: Path) -> None:
    from rich.table import Table

    from thioglass.workflow.study import PROPERTIES

    table = Table(title=f"{study['composition']}: against {study['reference']}")
    for column in ("point", "density g/cm3", "B GPa", "G GPa", "worst Q^n", "verdict"):
        table.add_column(column, justify="left" if column in ("point", "verdict", "worst Q^n") else "right")
    for p in study["points"]:
        cells = [f"{p['stats'][k]['mean']:.3f} ± {p['stats'][k]['sem']:.3f}" if unit == "g/cm3"
                 else f"{p['stats'][k]['mean']:.1f} ± {p['stats'][k]['sem']:.1f}" for k, unit in PROPERTIES]
        qn = p["comparison"].get("qn")
        worst = f"{qn['species']} {qn['delta']:+.1f}" if qn and qn["species"] else "-"
        table.add_row(p["point"], *cells, worst, p["verdict"])
    console.print(table)
    console.print(f"recommended: {study['recommendation']}")
    console.print(f"wrote {out / 'study.json'} and {out / 'study.png'}")
