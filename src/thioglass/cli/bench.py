"""``thioglass bench``: every benchmark into one JSON record, or one kind per sub-command."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

app = typer.Typer(help="Benchmarks, written to JSON with the machine's description. Without a sub-command: "
                  "every benchmark (analysis, md, and a timed `thioglass run`, stage by stage) into one file "
                  "(--out); a rerun with the same --out resumes the run. The sub-commands run one kind each.")


@app.callback(invoke_without_command=True)
def suite(
    ctx: typer.Context,
    out: Path = typer.Option(Path("bench-results/bench.json"), "--out", "-o",
                             help="JSON file for the results; the run's folder goes beside it (<stem>-run/)."),
    model: Optional[str] = typer.Option(
        None, "--model", "--potential", "-m", "-p",
        help="DeePMD model (.pb) timed by md and used by run (default: the shipped one)."),
    composition: str = typer.Option("75Li2S-25P2S5", "--composition", "-c", help="Glass of the timed run."),
    preset: Optional[str] = typer.Option(None, "--preset",
                                         help="Preset of the timed run (default quick; smoke with --quick)."),
    settings: Optional[list[str]] = typer.Option(
        None, "--set",
        help="Override a setting of the run: section.field=value (as for thioglass run). Repeat for more."),
    threads: int = typer.Option(2, "--threads", "-t", min=1, help="Threads of each MD run and of LAMMPS."),
    workers: int = typer.Option(1, "--workers", "-w", min=1,
                                help="Dask workers of the timed run (as thioglass run --workers)."),
    quick: bool = typer.Option(False, "--quick",
                               help="Quick analysis and md benchmarks and the smoke preset: minutes."),
    skip: Optional[str] = typer.Option(None, "--skip", help="Parts to leave out: any of analysis,md,run."),
    reference: Optional[str] = typer.Option("sevennet-mf-0-r2scan", "--reference",
                                            help="Reference the md part compares against ('' to skip)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the analysis and md benchmarks' cells."),
) -> None:
    """Every benchmark into one JSON file (runs only without a sub-command)."""
    if ctx.invoked_subcommand is not None:
        return
    from rich.console import Console

    from thioglass.bench.suite import SuiteSettings, run_suite

    config = SuiteSettings(composition=composition, preset=preset or ("smoke" if quick else "quick"), potential=model,
                           overrides=tuple(settings or ()), threads=threads, workers=workers, quick=quick, skip=(skip,) if skip else (),
                           reference=reference or None, seed=seed)
    console = Console()
    with SuiteDisplay(console) as display:
        record = run_suite(config, out, on_stage=display.note, reporter=display.reporter)
    for part in config.parts:
        console.print({"analysis": _analysis_table, "md": _md_table, "run": _run_table}[part](record[part]))
    console.print(f"results: {out}")


class SuiteDisplay:
    """One Rich live display for the whole suite: a line naming the current step, and the run's
    stage lines and progress bars (:class:`thioglass.cli.run.RichReporter`)."""

    def __init__(self, console) -> None:
        from thioglass.cli.run import RichReporter

        self.reporter = RichReporter(console)
        self._task: int | None = None

    def __enter__(self) -> "SuiteDisplay":
        self.reporter.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.reporter.__exit__(*exc)

    def note(self, message: str) -> None:
        progress = self.reporter.progress
        if self._task is None:
            self._task = progress.add_task(message, total=None)
        else:
            progress.update(self._task, description=message)


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

    from thioglass.bench import require_bench_extra
    from thioglass.bench.analysis import AnalysisBenchSettings, run_analysis_benchmark
    from thioglass.bench.common import write_json
    from thioglass.runinfo import RunSummary

    require_bench_extra()
    overrides = {k: v for k, v in (("n_atoms", atoms), ("n_frames", frames)) if v is not None}
    settings = (AnalysisBenchSettings.quick if quick else AnalysisBenchSettings)(seed=seed, **overrides)
    summary = RunSummary(command="bench analysis", inputs=asdict(settings))
    console = Console(stderr=True)
    with console.status("starting") as status, summary.stage("benchmark"):
        record = run_analysis_benchmark(settings, on_stage=lambda message: status.update(message))
    write_json(record, out)
    summary.add_output("json", out)
    summary.write(out.with_name(f"{out.stem}.summary.json"))
    console = Console()
    console.print(_analysis_table(record))
    console.print(f"results: {out}")


@app.command("md")
def md(
    out: Path = typer.Option(..., "--out", "-o", help="JSON file for the results."),
    model: Optional[Path] = typer.Option(None, "--model", "-m", help="Frozen DeePMD model (default: the shipped one)."),
    sizes: Optional[str] = typer.Option(None, "--sizes", help="Comma-separated cell sizes in atoms (default 300,4500)."),
    steps: Optional[int] = typer.Option(None, "--steps", help="MD steps per timing run."),
    reference: Optional[str] = typer.Option("sevennet-mf-0-r2scan", "--reference", help="Reference compared through ASE ('' to skip)."),
    threads: int = typer.Option(2, "--threads", help="OpenMP threads for LAMMPS."),
    quick: bool = typer.Option(False, "--quick", help="Small sizes: seconds instead of minutes."),
) -> None:
    """Atom-steps/s of a DeePMD model in LAMMPS (frozen, compressed) vs its reference, and preset ns/day."""
    from dataclasses import asdict

    from rich.console import Console

    from thioglass.bench.common import write_json
    from thioglass.bench.md import MDBenchSettings, run_md_benchmark
    from thioglass.runinfo import RunSummary

    changes = {"model": str(model) if model else None, "threads": threads, "reference": reference or None}
    if sizes:
        changes["sizes"] = tuple(int(s) for s in sizes.split(","))
    if steps:
        changes["steps"] = steps
    settings = MDBenchSettings.quick(**changes) if quick else MDBenchSettings(**changes)
    summary = RunSummary(command="bench md", inputs=asdict(settings))
    console = Console(stderr=True)
    with console.status("starting") as status, summary.stage("benchmark"):
        record = run_md_benchmark(settings, on_stage=lambda message: status.update(message))
    write_json(record, out)
    summary.add_output("json", out)
    summary.write(out.with_name(f"{out.stem}.summary.json"))
    Console().print(_md_table(record))


@app.command("deviation")
def deviation(
    out: Path = typer.Option(..., "--out", "-o", help="JSON file for the results."),
    model: Optional[Path] = typer.Option(None, "--model", "-m", help="Production model (default: the shipped one)."),
    members: Optional[str] = typer.Option(None, "--members", help="Ensemble members m1.pb,m2.pb (default: the "
                                          "shipped ensemble)."),
    atoms: int = typer.Option(300, "--atoms", min=2, help="Atoms of the 75Li2S-25P2S5 glass timed."),
    steps: int = typer.Option(2000, "--steps", min=10, help="MD steps per timing run."),
    every: str = typer.Option("20,100,500", "--every", help="Sampling intervals (steps) to time, comma-separated."),
    threads: int = typer.Option(1, "--threads", help="OpenMP threads for LAMMPS."),
    repeats: int = typer.Option(2, "--repeats", min=1, help="Runs of each case, alternating (the fastest is kept)."),
) -> None:
    """Extra cost of recording the ensemble's force deviation in a LAMMPS stage, per sampling interval."""
    from rich.console import Console

    from thioglass.bench.common import machine_info, write_json
    from thioglass.bench.deviation import deviation_cost
    from thioglass.build import BuildSettings, build_glass
    from thioglass.mlff.ensemble import ensemble_for, parse_members
    from thioglass.potential import model_path

    potential = str(model) if model else None
    chosen = ensemble_for(potential, parse_members(members))
    intervals = tuple(int(x) for x in every.split(",") if x.strip())
    glass = build_glass("75Li2S-25P2S5", settings=BuildSettings(n_atoms=atoms, seed=0))
    console = Console(stderr=True)
    with console.status("starting") as status:
        record = deviation_cost(model_path(potential), [str(m) for m in chosen], glass, steps=steps,
                                intervals=intervals, threads=threads, repeats=repeats,
                                on_stage=lambda message: status.update(message))
    write_json({"benchmark": "deviation", "machine": machine_info(), **record}, out)
    for name, extra in record["extra"].items():
        Console().print(f"every {name} steps: {100 * extra['loop_cpu_extra']:+.1f} % loop CPU time, "
                        f"{extra['start_extra_s']:+.1f} s start")


def _md_table(record: dict):
    from rich.table import Table

    table = Table(title="thioglass bench md", show_header=False)
    for variant, by_size in record["lammps"].items():
        for size, rate in by_size.items():
            table.add_row(f"LAMMPS {variant}, {size} atoms",
                          f"{rate['katom_steps_per_s']:.2f} katom-step/s, {rate['ns_per_day_1fs']:.3f} ns/day")
    for size, rate in record.get("lammps_1_thread", {}).items():
        table.add_row(f"LAMMPS, {size} atoms, 1 thread", f"{rate['katom_steps_per_s']:.2f} katom-step/s")
    if record.get("concurrent"):
        both = record["concurrent"]
        table.add_row(f"{both['runs']} single-thread runs at once, {both['atoms']} atoms",
                      f"{both['katom_steps_per_s']:.2f} katom-step/s in all")
    if record["reference"]:
        ref = record["reference"]
        for size, rate in ref.get("by_size", {str(ref["atoms"]): ref}).items():
            table.add_row(f"{ref['name']} (ASE), {size} atoms", f"{rate['atom_steps_per_s']:.0f} atom-step/s")
        for size, ratio in record.get("speedup_by_size", {}).items():
            table.add_row(f"speed-up over the reference, {size} atoms", f"{ratio:.0f}x")
        for size, ratio in record.get("speedup_best_threads_by_size", {}).items():
            table.add_row(f"speed-up, each at its faster thread count, {size} atoms", f"{ratio:.0f}x")
    for name, preset in record["presets"].items():
        table.add_row(f"preset {name} ({preset['atoms']} atoms)",
                      f"{preset['ns_per_day']:.3f} ns/day, {preset['hours_per_replica']:.2f} h per replica")
    return table


def _analysis_table(record: dict):
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
    return table


def _run_table(record: dict):
    from rich.table import Table

    title = (f"thioglass run {record['composition']}, preset {record['preset']} "
             f"({record['n_replicas']} x {record['n_atoms']} atoms)")
    resumed = record["resumed_stages"]
    caption = f"read from disk (times from when they ran): {', '.join(resumed)}" if resumed else None
    table = Table(title=title, caption=caption)
    table.add_column("stage")
    table.add_column("wall time (s)", justify="right")
    table.add_column("share of the stages", justify="right")
    stage_sum = record["stage_sum_s"]
    for stage, seconds in record["stages_s"].items():
        table.add_row(stage, f"{seconds:.2f}", f"{100 * seconds / stage_sum:.0f} %" if stage_sum > 0 else "")
    table.add_row("sum of stages", f"{stage_sum:.2f}", "", style="bold")
    table.add_row("total (this call)", f"{record['total_s']:.2f}", "", style="bold")
    return table
