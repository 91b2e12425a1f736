"""``thioglass rotation``: paddle-wheel analysis, PS4/SiS4 rotation angles and nearby Li motion."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def rotation(
    trajectory: Path = typer.Argument(..., help="Trajectory: LAMMPS dump or extxyz (e.g. a conductivity run's traj.dump)."),
    json_out: Path = typer.Option(..., "--json", help="Where to write the results (JSON)."),
    window_ps: float = typer.Option(30.0, "--window-ps", help="Time between the two frames compared (ps)."),
    timestep_fs: float = typer.Option(1.0, "--timestep-fs", help="MD time step (fs)."),
    stride: Optional[int] = typer.Option(None, "--stride", help="MD steps between frames (default: read from the file)."),
    li_radius: float = typer.Option(4.0, "--li-radius", help="Li within this distance (Å) of a centre count as nearby."),
    origin_stride_ps: Optional[float] = typer.Option(None, "--origin-stride-ps", help="Spacing of window origins (ps; default: the window)."),
    cutoff: float = typer.Option(2.6, "--cutoff", help="P/Si-S bond cutoff (Å) defining the tetrahedra."),
    frames: str = typer.Option(":", "--frames", help="START:STOP:STEP over the file's frames."),
    top: int = typer.Option(10, "--top", help="Rows of the most rotating tetrahedra to show and keep in top_rows."),
    plots: Optional[Path] = typer.Option(None, "--plots", help="Directory for rotation.png."),
) -> None:
    """Rotation angle of every PS4/SiS4 tetrahedron per window (Kabsch), nearby Li displacement, their correlation."""

    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from thioglass.io.atomic import write_json

    from thioglass.properties.rotation import RotationSettings, analyse_rotation
    from thioglass.runinfo import RunSummary

    settings = RotationSettings(window_ps=window_ps, timestep_fs=timestep_fs, stride=stride,
                                li_radius_angstrom=li_radius, origin_stride_ps=origin_stride_ps,
                                cutoff_angstrom=cutoff, top=top)
    summary = RunSummary("rotation", {"trajectory": str(trajectory), "frames": frames, "window_ps": window_ps,
                                      "timestep_fs": timestep_fs, "stride": stride, "li_radius_angstrom": li_radius,
                                      "origin_stride_ps": origin_stride_ps, "cutoff_angstrom": cutoff})
    columns = (TextColumn("reading frames"), BarColumn(), TextColumn("{task.completed}"), TimeElapsedColumn())
    with summary.stage("analysis"), Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("frames", total=None)
        result = analyse_rotation(trajectory, settings, frames=frames, progress=lambda n: bar.update(task, completed=n))
    write_json(json_out, result, indent=1)
    summary.add_output("json", json_out)
    if plots is not None:
        from thioglass.report.property_plots import write_rotation_plots

        with summary.stage("plots"):
            for name, path in write_rotation_plots(result, plots).items():
                summary.add_output(f"plot_{name}", path)
    summary.write(json_out.with_name(f"{json_out.stem}.summary.json"))
    _print(result, json_out)


def _print(result: dict, json_out: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Most rotating tetrahedra ({result['n_windows']} window(s) of {result['window_ps']:g} ps, "
                        f"{result['n_tetrahedra']} tetrahedra)")
    for column in ("window", "t0 (ps)", "centre", "unit", "angle (°)", "fit RMSD (Å)", "Li nearby", "Li disp. (Å)"):
        table.add_column(column)
    for row in result["top_rows"]:
        disp = row["li_displacement_mean_angstrom"]
        table.add_row(str(row["window"]), f"{row['t0_ps']:g}", str(row["center_index"]), f"{row['species']}S4",
                      f"{row['angle_deg']:.1f}", f"{row['fit_rmsd_angstrom']:.2f}", str(row["n_li"]),
                      "-" if disp is None else f"{disp:.2f}")
    console = Console()
    console.print(table)
    for species, stats in result["angle_by_species"].items():
        console.print(f"{species}S4: mean angle {stats['mean_deg']:.1f} ± {stats['std_deg']:.1f}° over {stats['n']} rows")
    corr = result["correlation"]
    if corr["pearson_r"] is not None:
        console.print(f"angle vs nearby-Li displacement: Pearson r = {corr['pearson_r']:.2f} (p = {corr['pearson_p']:.1e}), "
                      f"Spearman rho = {corr['spearman_rho']:.2f} (p = {corr['spearman_p']:.1e}), n = {corr['n']}")
    else:
        console.print(f"correlation: {corr['message']}")
    console.print(f"results: {json_out}")
