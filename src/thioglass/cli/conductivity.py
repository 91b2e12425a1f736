"""``thioglass conductivity``: Li diffusion and conductivity from NPT runs at several temperatures."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from thioglass.cli.options import Ensemble, OutDir, Potential, Scheduler, Seed, Threads, Workers


def conductivity(
    inputs: Optional[list[str]] = typer.Argument(
        None, metavar="STRUCTURE", help="Glass to run (any structure file). Numbers after it are read as more "
        "temperatures, so '--temperatures 400 450 500' works."),
    out: OutDir = ...,
    temperatures: Optional[list[str]] = typer.Option(
        None, "--temperatures", "-T", help="Temperatures in K: 400 450 500, 400,450,500 or 400:650:50 (inclusive)."),
    ps: float = typer.Option(1000.0, "--ps", help="Production time per temperature (ps); the paper: 1000 above 400 K."),
    max_ps: Optional[float] = typer.Option(
        None, "--max-ps", help="Let a temperature that is not yet diffusive run on, --ps at a time, up to this many ps "
        "of production (default: a fixed --ps)."),
    equilibrate_ps: float = typer.Option(50.0, "--equilibrate-ps", help="NPT equilibration before production (ps)."),
    dump_every_ps: float = typer.Option(1.0, "--dump-every-ps", help="Frame interval of the MSD (ps)."),
    timestep_fs: float = typer.Option(1.0, "--timestep-fs", help="MD time step (fs)."),
    from_trajectory: Optional[list[Path]] = typer.Option(
        None, "--from-trajectory", help="Analyse existing trajectories instead of running MD: one per temperature, "
        "in the order of --temperatures (repeat the option)."),
    stride: Optional[int] = typer.Option(None, "--stride", help="With --from-trajectory: MD steps between frames "
                                         "(default: read from the file)."),
    frames: str = typer.Option(":", "--frames", help="With --from-trajectory: START:STOP:STEP of the frames used."),
    plots: bool = typer.Option(True, "--plots/--no-plots", help="Write msd.png and arrhenius.png."),
    potential: Potential = None,
    ensemble: Ensemble = None,
    threads: Threads = 2,
    workers: Workers = 1,
    scheduler: Scheduler = None,
    seed: Seed = 1,
) -> None:
    """NPT run per temperature (resumable), Li MSD, D, Nernst-Einstein sigma, Arrhenius Ea and sigma(300 K)."""
    from thioglass.io.atomic import write_json

    from rich.console import Console

    from thioglass.errors import ThioglassError
    from thioglass.runinfo import RunSummary

    console = Console(stderr=True)
    numbers, paths = _split(inputs or [])
    temps = parse_temperatures([*(temperatures or []), *numbers])
    summary = RunSummary("conductivity", {
        "inputs": paths, "temperatures_K": list(temps), "ps": ps, "max_ps": max_ps, "equilibrate_ps": equilibrate_ps,
        "dump_every_ps": dump_every_ps, "timestep_fs": timestep_fs, "potential": potential, "seed": seed,
        "from_trajectory": [str(p) for p in from_trajectory or []], "stride": stride, "frames": frames})
    if from_trajectory:
        if paths:
            raise ThioglassError(f"give either a STRUCTURE to run or --from-trajectory files, not both ({paths[0]})")
        with summary.stage("analysis"):
            result = _from_trajectories(from_trajectory, temps, timestep_fs, stride, frames, console)
    else:
        if len(paths) != 1:
            raise ThioglassError(f"give exactly one STRUCTURE to run (got {len(paths)}), or use --from-trajectory")
        from thioglass.analysis.diffusion import DiffusionFitSettings
        from thioglass.properties.conductivity import ConductivitySettings

        settings = ConductivitySettings(temps, production_ps=ps, equilibrate_ps=equilibrate_ps,
                                        dump_every_ps=dump_every_ps, timestep_fs=timestep_fs, seed=seed,
                                        fit=DiffusionFitSettings(seed=seed), production_max_ps=max_ps)
        from thioglass.cli.deviation import resolve_ensemble
        from thioglass.md.results import deviation_by_stage

        members = resolve_ensemble(console, potential, ensemble)
        with summary.stage("md_and_analysis"):
            result = _run(Path(paths[0]), settings, out, potential, threads, workers, scheduler, console, members)
        result["model_deviation"] = deviation_by_stage(out, "conductivity", per_run=True)
    out.mkdir(parents=True, exist_ok=True)
    json_path = out / "conductivity.json"
    write_json(json_path, result, indent=1)
    summary.add_output("json", json_path)
    if plots:
        from thioglass.report.property_plots import write_conductivity_plots

        with summary.stage("plots"):
            for name, path in write_conductivity_plots(result, out).items():
                summary.add_output(f"plot_{name}", path)
    summary.write(out / "conductivity.summary.json")
    for warning in result["warnings"]:
        console.print(f"[yellow]warning:[/yellow] {warning}")
    _print(result, json_path)
    from thioglass.cli.deviation import print_deviation

    print_deviation(console, result.get("model_deviation"))


def _split(values: list[str]) -> tuple[list[str], list[str]]:
    """Numbers (extra temperatures) and everything else (paths) among the positional values."""
    numbers, paths = [], []
    for value in values:
        try:
            float(value)
            numbers.append(value)
        except ValueError:
            paths.append(value)
    return numbers, paths


def parse_temperatures(values: list[str]) -> tuple[float, ...]:
    """Temperatures from '400', '400,450' or '400:650:50' (both ends included), in the order given."""
    from thioglass.errors import ThioglassError

    temps: list[float] = []
    for value in values:
        for token in value.replace(",", " ").split():
            try:
                if ":" in token:
                    start, stop, step = (float(x) for x in token.split(":"))
                    if stop < start:
                        raise ThioglassError(f"'{token}' counts down; write START:STOP:STEP from low to high, e.g. "
                                             f"{stop:g}:{start:g}:{abs(step):g} (both ends included)")
                    if step <= 0:
                        raise ThioglassError(f"'{token}' has a step of {step:g} K; the step must be positive")
                    n = int(round((stop - start) / step))
                    temps += [start + k * step for k in range(n + 1)]
                else:
                    temps.append(float(token))
            except ThioglassError:
                raise
            except ValueError:
                raise ThioglassError(f"cannot read temperatures from '{token}'; give numbers in K, e.g. "
                                     "--temperatures 400 450 500 or 400:650:50") from None
    if not temps:
        raise ThioglassError("no temperatures given; use --temperatures 400 450 500 (K)")
    if min(temps) <= 0:
        raise ThioglassError(f"temperature {min(temps):g} K is not above absolute zero; give temperatures in K")
    return tuple(temps)


def _progress_bar(console):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    return Progress(*columns, console=console, transient=True)


def _run(structure: Path, settings, out: Path, potential: str | None, threads: int, workers: int,
         scheduler: str | None, console, ensemble: tuple[str, ...] | None = None) -> dict:
    from thioglass.cluster import dask_client
    from thioglass.io import read_frame
    from thioglass.md.engine import make_engine
    from thioglass.properties.conductivity import ConductivityWorkflow

    atoms = read_frame(structure)
    engine = make_engine(potential, threads, ensemble=ensemble)
    with _progress_bar(console) as bar, dask_client(workers, scheduler) as client:
        tasks: dict[str, int] = {}

        def progress(name: str, done: int, total: int) -> None:
            if name not in tasks:
                tasks[name] = bar.add_task(f"MD {name} (steps)", total=total)
            bar.update(tasks[name], completed=done)

        result = ConductivityWorkflow(settings).calc(atoms, engine, out, client=client, progress=progress)
    result["input"] = {"structure": str(structure), "potential": potential, "n_atoms": len(atoms)}
    return result


def _from_trajectories(paths: list[Path], temps: tuple[float, ...], timestep_fs: float, stride: int | None,
                       frames: str, console) -> dict:
    from thioglass.errors import ThioglassError
    from thioglass.properties.conductivity import analyse_trajectory, summarise

    if len(paths) != len(temps):
        raise ThioglassError(f"{len(paths)} trajectories but {len(temps)} temperatures; give one temperature per "
                             "--from-trajectory file, in the same order")
    rows = []
    with console.status("analysing trajectories") as status:
        for path, t in zip(paths, temps):
            status.update(f"analysing {path} ({t:g} K)")
            rows.append(analyse_trajectory(path, t, timestep_fs, stride=stride, frames=frames))
    result = summarise(rows)
    result["input"] = {"trajectories": [str(p) for p in paths], "timestep_fs": timestep_fs, "frames": frames}
    return result


def _print(result: dict, json_path: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Li transport")
    for column in ("T (K)", "D (cm²/s)", "σ (mS/cm)", "log-log slope", "fit (ps)", "in fit"):
        table.add_column(column)
    for row in result["temperatures"]:
        slope = row["loglog_slope"]
        table.add_row(
            f"{row['temperature_K']:g}",
            row.get("regime", "-") if row["D_cm2_s"] is None else f"{row['D_cm2_s']:.3e} ± {row['D_std_cm2_s']:.1e}",
            "-" if row["sigma_mS_cm"] is None else f"{row['sigma_mS_cm']:.3g} ± {row['sigma_std_mS_cm'] or 0:.2g}",
            "-" if slope is None else f"{slope:.2f}", f"{row['fit_start_ps']:.3g}-{row['fit_end_ps']:.3g}",
            "yes" if row["included"] else "no",
        )
    console = Console()
    console.print(table)
    if result["activation_energy_eV"] is not None:
        console.print(f"Ea = {result['activation_energy_eV']:.3f} ± {result['activation_energy_std_eV']:.3f} eV "
                      f"({result['activation_energy_kJ_mol']:.1f} ± {result['activation_energy_std_kJ_mol']:.1f} kJ/mol); "
                      f"σ(300 K) = {result['sigma_300K_mS_cm']:.3g} ± {result['sigma_300K_std_mS_cm']:.2g} mS/cm")
    console.print(f"results: {json_path}")
