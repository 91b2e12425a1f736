"""``thioglass analyze``: density, g(r), S(Q), Q^n and E^n of a structure or a trajectory."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def analyze(
    file: Path = typer.Argument(..., help="extxyz, POSCAR/CONTCAR/.vasp, CIF, LAMMPS data or LAMMPS dump."),
    json_out: Path = typer.Option(..., "--json", help="Where to write the results (JSON)."),
    frames: str = typer.Option(":", "--frames", help="START:STOP:STEP over the file's frames, e.g. '100:' or '::10'."),
    cutoff: float = typer.Option(2.6, "--cutoff", help="Bond cutoff for Q^n / E^n in Å."),
    rmax: float = typer.Option(10.0, "--rmax", help="Largest r of g(r) in Å."),
    bins: int = typer.Option(200, "--bins", help="Number of g(r) bins."),
    qmax: float = typer.Option(20.0, "--qmax", help="Largest Q of S(Q) in 1/Å."),
    nq: int = typer.Option(400, "--nq", help="Number of Q points."),
    lorch: bool = typer.Option(True, "--lorch/--no-lorch",
                               help="Lorch window in the g(r) -> S(Q) transform (off: the cut at rmax rings at low Q)."),
    type_map: Optional[str] = typer.Option(
        None, "--type-map", help="Elements of LAMMPS types 1, 2, ... (default Li,Si,P,S) for dumps without elements."
    ),
    plots: Optional[Path] = typer.Option(None, "--plots", help="Directory for PNG plots."),
) -> None:
    """Average density, g(r), neutron S(Q), Q^n and E^n over the frames of FILE (streamed)."""
    from dataclasses import asdict

    from rich.console import Console

    from thioglass.io.atomic import write_json

    from thioglass.analysis.structure import StructureAnalysis, StructureSettings
    from thioglass.io import iter_frames
    from thioglass.io.streaming import fix_mmap_threshold
    from thioglass.runinfo import RunSummary

    console = Console(stderr=True)
    types = [t.strip() for t in type_map.split(",")] if type_map else None
    settings = StructureSettings(
        r_max_angstrom=rmax, n_bins=bins, bond_cutoff_angstrom=cutoff, q_max_inv_angstrom=qmax, n_q=nq, lorch=lorch
    )
    summary = RunSummary(
        command="analyze",
        inputs={"file": str(file), "frames": frames, "type_map": types, "settings": asdict(settings)},
    )
    analysis = StructureAnalysis(settings)
    stream = iter_frames(file, frames, type_map=types)
    fix_mmap_threshold()  # flat resident memory over long trajectories (see thioglass.io.streaming)
    with summary.stage("analysis"):
        _run_with_progress(analysis, stream, _expected_frames(file, frames), console)
    with summary.stage("result"):
        result = analysis.result()
    result["input"] = {"file": str(file), "frames": frames}
    write_json(json_out, result, indent=1)
    summary.add_output("json", json_out)
    if plots is not None:
        from thioglass.report.plots import write_structure_plots

        with summary.stage("plots"):
            for name, path in write_structure_plots(result, plots).items():
                summary.add_output(f"plot_{name}", path)
    summary.write(json_out.with_name(f"{json_out.stem}.summary.json"))
    _print_summary(result, json_out, plots, Console())


def _expected_frames(file: Path, frames: str) -> int | None:
    """Frames the selection will give, for the progress bar; None if the file cannot be counted."""
    from thioglass.errors import ThioglassError
    from thioglass.io import count_frames, parse_frames

    try:
        total = count_frames(file)
    except ThioglassError:
        return None  # e.g. a truncated tail: the selection may still avoid it, so let reading decide
    return len(range(*parse_frames(frames).indices(total)))


def _run_with_progress(analysis, stream, total: int | None, console) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("analysing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("frames", total=total)
        for atoms in stream:
            analysis.compute(atoms)
            progress.advance(task)


def _print_summary(result: dict, json_out: Path, plots: Path | None, console) -> None:
    from rich.table import Table

    table = Table(title=f"{result['n_frames']} frame(s)", show_header=True)
    table.add_column("quantity")
    table.add_column("value")
    table.add_row("density", f"{result['density_g_cm3']:.4f} ± {result['density_std_g_cm3']:.4f} g/cm³")
    for key, label in (("qn", "Q"), ("en", "E")):
        for former, populations in result.get(key, {}).items():
            shares = "  ".join(f"{label}{n}: {pct:.1f}%" for n, pct in populations.items() if pct > 0.05)
            table.add_row(f"{former} {label}^n", shares or "-")
    for pair, bond in result.get("bonds", {}).items():
        if bond["count_per_frame"] > 0:
            table.add_row(f"{pair} bonds", f"{bond['count_per_frame']:.2f} per frame")
    console.print(table)
    console.print(f"results: {json_out}" + (f"   plots: {plots}/" if plots is not None else ""))
