"""``thioglass elastic``: elastic tensor and VRH moduli, static (relaxed) and/or MD at temperature."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from thioglass.cli.options import Potential, Scheduler, Seed, Threads, Workers

ROUTES = ("static", "md", "both")


def elastic(
    structure: Path = typer.Argument(..., help="Periodic structure (extxyz, POSCAR, CIF, LAMMPS data; last frame)."),
    json_out: Path = typer.Option(..., "--json", help="Where to write the results (JSON)."),
    potential: Potential = None,
    route: str = typer.Option("static", "--route", help="static (relax, strain, stress), md (stress averaged over "
                              "NVT at temperature, the paper's route for glasses) or both."),
    strain: float = typer.Option(0.01, "--strain", help="Strain in each of the 6 Voigt directions (both signs)."),
    temperature: float = typer.Option(300.0, "--temperature", help="MD route: temperature (K)."),
    md_ps: float = typer.Option(20.0, "--md-ps", help="MD route: production time of each strained run (ps)."),
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
    from thioglass.runinfo import RunSummary

    if route not in ROUTES:
        raise ThioglassError(f"route '{route}' is unknown; use one of {', '.join(ROUTES)}")
    console = Console(stderr=True)
    atoms = read_frame(structure)
    inputs = {"structure": str(structure), "potential": potential, "route": route, "strain": strain,
              "temperature_K": temperature, "md_ps": md_ps, "equilibrate_ps": equilibrate_ps,
              "reference_ps": reference_ps, "blocks": blocks, "timestep_fs": timestep_fs, "relax": relax, "fmax": fmax, "seed": seed}
    summary = RunSummary("elastic", inputs)
    routes: dict[str, dict] = {}
    if route in ("static", "both"):
        with summary.stage("static"):
            routes["static"] = _static(atoms, potential, strain, relax, fmax, threads, console)
    if route in ("md", "both"):
        workdir = out or json_out.with_name(f"{json_out.stem}_md")
        with summary.stage("md"):
            routes["md"] = _md(atoms, potential, workdir, threads, workers, scheduler, console, dict(
                temperature_k=temperature, strain=strain, reference_ps=reference_ps, equilibrate_ps=equilibrate_ps,
                production_ps=md_ps, n_blocks=blocks, timestep_fs=timestep_fs, seed=seed))
        summary.add_output("md_runs", workdir)
    primary = "md" if "md" in routes else "static"
    result = {**routes[primary], "route": primary, "routes": routes,
              "input": {"structure": str(structure), "potential": potential, "n_atoms": len(atoms)}}
    write_json(json_out, result, indent=1)
    summary.add_output("json", json_out)
    summary.write(json_out.with_name(f"{json_out.stem}.summary.json"))
    _print(routes, json_out)


def _static(atoms, potential: str | None, strain: float, relax: bool, fmax: float, threads: int, console) -> dict:
    from thioglass.analysis.elastic import ElasticSettings
    from thioglass.properties.elastic import static_elastic

    settings = ElasticSettings(strain=strain, relax_structure=relax, relax_deformed=relax, fmax_eV_per_angstrom=fmax)
    with console.status("static route: relaxing and straining"):
        return static_elastic(atoms, potential, settings, threads)


def _md(atoms, potential: str | None, workdir: Path, threads: int, workers: int, scheduler: str | None,
        console, settings: dict) -> dict:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from thioglass.cli.options import dask_client
    from thioglass.md.engine import make_engine
    from thioglass.properties.elastic import ElasticMDSettings, ElasticMDStep

    step = ElasticMDStep(ElasticMDSettings(**settings))
    engine = make_engine(potential, threads)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as bar, dask_client(workers, scheduler) as client:
        tasks: dict[str, int] = {}

        def progress(name: str, done: int, total: int) -> None:
            if name not in tasks:
                tasks[name] = bar.add_task(f"MD {name} (steps)", total=total)
            bar.update(tasks[name], completed=done)

        return step.calc(atoms, engine, workdir, client=client, progress=progress)


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
