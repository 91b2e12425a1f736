"""``thioglass elastic``: elastic tensor and VRH moduli, static (relaxed) and/or MD at temperature."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Optional

import typer

from thioglass.cli.options import Ensemble, Potential, Scheduler, Seed, Threads, Workers

ROUTES = ("static", "md")  # and "both"; as thioglass.properties.elastic.ROUTES, kept here for a fast --help


def elastic(
    structure: Path = typer.Argument(..., help="Periodic structure (extxyz, POSCAR, CIF, LAMMPS data; last frame)."),
    json_out: Path = typer.Option(..., "--json", help="Where to write the results (JSON)."),
    potential: Potential = None,
    ensemble: Ensemble = None,
    route: str = typer.Option("static", "--route", help="static (relax, strain, stress), md (stress averaged over "
                              "NVT at temperature, the paper's route for glasses) or both."),
    strain: float = typer.Option(0.01, "--strain", help="Strain in each of the 6 Voigt directions (both signs)."),
    temperature: float = typer.Option(300.0, "--temperature", help="MD route: temperature (K)."),
    md_ps: float = typer.Option(20.0, "--md-ps", help="MD route: production time of each strained run (ps)."),
    md_max_ps: Optional[float] = typer.Option(
        None, "--md-max-ps", help="MD route: run on, --md-ps at a time, up to this much production while B or G "
        "carries more than 10 % error (default: a fixed --md-ps)."),
    equilibrate_ps: float = typer.Option(5.0, "--equilibrate-ps", help="MD route: discarded start of each strained run (ps)."),
    reference_ps: float = typer.Option(20.0, "--reference-ps", help="MD route: NPT run fixing the reference volume (ps; 0: use the input cell)."),
    blocks: int = typer.Option(5, "--blocks", help="MD route: blocks of the production stress (uncertainties)."),
    timestep_fs: float = typer.Option(1.0, "--timestep-fs", help="MD route: time step (fs)."),
    relax: bool = typer.Option(True, "--relax/--no-relax", help="Static route: relax positions and cell first."),
    fmax: float = typer.Option(0.01, "--fmax", help="Static route: force convergence of relaxations (eV/Å)."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="MD route: run folder (default: beside the JSON); rerun to resume."),
    threads: Threads = 2,
    workers: Workers = 1,
    scheduler: Scheduler = None,
    seed: Seed = 1,
) -> None:
    """Elastic tensor C, compliance S and Voigt/Reuss/Hill B, G, E and nu of STRUCTURE (±strain, stress differences)."""
    from thioglass.io.atomic import write_json

    from rich.console import Console

    from thioglass.errors import ThioglassError
    from thioglass.io import read_frame
    from thioglass.properties.elastic import ElasticMDSettings, elastic_by_route
    from thioglass.properties.elastic_static import ElasticSettings
    from thioglass.runinfo import RunSummary

    if route not in (*ROUTES, "both"):
        raise ThioglassError(f"route '{route}' is unknown; use one of {', '.join((*ROUTES, 'both'))}")
    console = Console(stderr=True)
    atoms = read_frame(structure)
    inputs = {"structure": str(structure), "potential": potential, "route": route, "strain": strain,
              "temperature_K": temperature, "md_ps": md_ps, "md_max_ps": md_max_ps, "equilibrate_ps": equilibrate_ps,
              "reference_ps": reference_ps, "blocks": blocks, "timestep_fs": timestep_fs, "relax": relax, "fmax": fmax, "seed": seed}
    summary = RunSummary("elastic", inputs)
    routes: dict[str, dict] = {}
    workdir = out or json_out.with_name(f"{json_out.stem}_md")
    names = ROUTES if route == "both" else (route,)
    # Settings of a route that does not run are not built (nor checked).
    static = (ElasticSettings(strain=strain, relax_structure=relax, relax_deformed=relax, fmax_eV_per_angstrom=fmax)
              if "static" in names else None)
    md = (ElasticMDSettings(temperature_k=temperature, strain=strain, reference_ps=reference_ps,
                            equilibrate_ps=equilibrate_ps, production_ps=md_ps, production_max_ps=md_max_ps, n_blocks=blocks,
                            timestep_fs=timestep_fs, seed=seed) if "md" in names else None)
    from thioglass.cli.deviation import print_deviation, resolve_ensemble
    from thioglass.md.results import deviation_by_stage

    members = resolve_ensemble(console, potential, ensemble) if "md" in names else None
    for name in names:
        with summary.stage(name), _display(name, console, workers, scheduler) as (client, progress):
            routes[name] = elastic_by_route(name, atoms, potential, static=static, md=md, workdir=workdir,
                                            threads=threads, client=client, progress=progress, ensemble=members)
    if "md" in routes:
        summary.add_output("md_runs", workdir)
        routes["md"]["model_deviation"] = deviation_by_stage(workdir, "elastic")
    primary = "md" if "md" in routes else "static"
    result = {**routes[primary], "route": primary, "routes": routes,
              "input": {"structure": str(structure), "potential": potential, "n_atoms": len(atoms)}}
    write_json(json_out, result, indent=1)
    summary.add_output("json", json_out)
    summary.write(json_out.with_name(f"{json_out.stem}.summary.json"))
    _print(routes, json_out)
    print_deviation(console, routes.get("md", {}).get("model_deviation"))


@contextmanager
def _display(route: str, console, workers: int, scheduler: str | None) -> Iterator[tuple[Any, Any]]:
    """(Dask client, progress callback) of a route, inside its display: a spinner for the static
    route, a bar per MD run for the MD route."""
    if route == "static":
        with console.status("static route: relaxing and straining"):
            yield None, None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from thioglass.cluster import dask_client

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as bar, dask_client(workers, scheduler) as client:
        tasks: dict[str, int] = {}

        def progress(name: str, done: int, total: int | None) -> None:
            if name not in tasks:
                tasks[name] = bar.add_task(f"MD {name} (steps)", total=total)
            bar.update(tasks[name], completed=done)

        yield client, progress


def _print(routes: dict[str, dict], json_out: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Elastic moduli (Voigt-Reuss-Hill)")
    table.add_column("quantity")
    for name in routes:
        table.add_column(name)
    rows = (("B (GPa)", "bulk_modulus_vrh_GPa", "bulk_modulus_vrh_std_GPa"),
            ("G (GPa)", "shear_modulus_vrh_GPa", "shear_modulus_vrh_std_GPa"),
            ("E (GPa)", "youngs_modulus_GPa", "youngs_modulus_std_GPa"),
            ("nu", "poisson_ratio", "poisson_ratio_std"))
    for label, key, err in rows:
        cells = [f"{r[key]:.3f}" + (f" ± {r[err]:.3f}" if r.get(err) is not None else "") for r in routes.values()]
        table.add_row(label, *cells)
    table.add_row("stable (Born)", *[str(r["mechanically_stable"]) for r in routes.values()])
    Console().print(table)
    Console().print(f"results: {json_out}")
