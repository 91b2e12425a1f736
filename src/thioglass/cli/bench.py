"""``thioglass bench``: benchmarks that write a JSON record (one sub-command per kind)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

app = typer.Typer(
    help="Benchmarks; each writes its measurements and the machine's description to JSON.", no_args_is_help=True
)


@app.command("analysis")
def analysis(
    out: Path = typer.Option(..., "--out", "-o", help="JSON file for the results."),
    atoms: Optional[int] = typer.Option(None, "--atoms", help="Atoms in the timed cell (default 5000, quick 400)."),
    frames: Optional[int] = typer.Option(
        None, "--frames", help="Longest trajectory streamed in the memory test (default 1000, quick 30)."
    ),
    quick: bool = typer.Option(False, "--quick", help="Small sizes: seconds instead of minutes."),
    seed: int = typer.Option(0, "--seed", help="Seed of the random cells and displacements."),
) -> None:
    """Frames/s of the structure analysis, g(r) vs freud, and memory while streaming trajectories."""
    from dataclasses import asdict

    from rich.console import Console

    from thioglass.bench.analysis import AnalysisBenchSettings, run_analysis_benchmark
    from thioglass.bench.common import write_json
    from thioglass.runinfo import RunSummary

    overrides = {k: v for k, v in (("n_atoms", atoms), ("n_frames", frames)) if v is not None}
    settings = (AnalysisBenchSettings.quick if quick else AnalysisBenchSettings)(seed=seed, **overrides)
    summary = RunSummary(command="bench analysis", inputs=asdict(settings))
    console = Console(stderr=True)
    with console.status("starting") as status, summary.stage("benchmark"):
        record = run_analysis_benchmark(settings, on_stage=lambda message: status.update(message))
    write_json(record, out)
    summary.add_output("json", out)
    summary.write(out.with_name(f"{out.stem}.summary.json"))
    _print(record, out, Console())


def _print(record: dict, out: Path, console) -> None:
    from rich.table import Table

    full, rdf = record["full_analysis"], record["rdf"]
    table = Table(title="thioglass bench analysis", show_header=False)
    table.add_row("full analysis", f"{full['frames_per_s']:.2f} frames/s ({full['n_atoms']} atoms)")
    table.add_row("g(r) thioglass (all partials)", f"{rdf['thioglass_all_partials']['best_s'] * 1e3:.1f} ms/frame")
    table.add_row("g(r) freud, 1 thread", f"{rdf['freud_1_thread']['best_s'] * 1e3:.1f} ms/frame")
    table.add_row("g(r) freud, all threads", f"{rdf['freud_all_threads']['best_s'] * 1e3:.1f} ms/frame")
    table.add_row("thioglass / freud (all threads)", f"{rdf['ratio_thioglass_over_freud_all_threads']:.2f}")
    for fmt in ("extxyz", "lammps-dump"):
        memory = record["streaming_memory"][fmt]
        peaks = ", ".join(f"{run['frames']}: {run['peak_rss_above_baseline_mb']:.1f}" for run in memory["runs"])
        table.add_row(f"peak RSS {fmt} (frames: MB)", peaks)
        table.add_row(
            f"growth per 1000 frames, {fmt}",
            f"RSS {memory['slope_peak_rss_above_baseline_mb_per_1000_frames']:.2f} MB, "
            f"traced peak {memory['slope_traced_peak_mb_per_1000_frames']:.2f} MB, "
            f"retained {memory['slope_traced_retained_mb_per_1000_frames']:.2f} MB",
        )
    console.print(table)
    console.print(f"results: {out}")
