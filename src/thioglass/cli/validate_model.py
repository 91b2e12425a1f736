"""``thioglass validate-model``: an independent physical validation of a model against its reference."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from thioglass.cli.options import OutDir, Scheduler, Threads, Workers


def validate_model(
    out: OutDir,
    model: Annotated[Optional[str], typer.Option(
        "--model", "-m", help="DeePMD model (.pb) to validate (default: the shipped one), or an ASE "
        "calculator (ase:package.module:Class).")] = None,
    reference: Annotated[Optional[str], typer.Option(
        "--reference", "-r", help="Reference to judge it against (default: the one its model card names).")] = None,
    preset: Annotated[str, typer.Option("--preset", help="quick (minutes: the crystals where the shipped model "
                                        "failed, one glass) or full (every crystal and glass family; hours).")] = "quick",
    settings: Annotated[Optional[list[str]], typer.Option(
        "--set", help="Override a setting: name=value, e.g. model_md_ps=2 or heldout_crystals=Li2S,SiS2 "
        "(see thioglass.mlff.validation.settings). Repeat for more.")] = None,
    reference_from: Annotated[Optional[Path], typer.Option(
        "--reference-from", help="Another validate-model folder with the same reference, cutoff, elements and "
        "settings: its reference runs, relaxations and labels are copied in instead of computed again.")] = None,
    workers: Workers = 1,
    threads: Threads = 1,
    scheduler: Scheduler = None,
) -> None:
    """Reference-driven held-out frames, crystals at the reference's minimum (lattice, EOS, elastic) and
    bonding motifs in MD, each with a pass/fail verdict; rerun into the same folder to resume. Exit status 1
    when a check fails."""
    import time

    from rich.console import Console

    from thioglass.cluster import dask_client
    from thioglass.mlff.validation.run import validate_model as run
    from thioglass.mlff.validation.settings import parse_overrides
    from thioglass.mlff.validation.settings import preset as make_settings
    from thioglass.mlff.validation.subject import check_output_folder, resolve_subject

    console = Console(stderr=True)
    config = make_settings(preset, **parse_overrides(settings or []))
    subject = resolve_subject(model, reference, config)
    check_output_folder(out)
    if reference_from is not None:
        from thioglass.mlff.validation.reuse import check_source

        check_source(reference_from, subject, config)
    start = time.monotonic()

    def log(message: str) -> None:
        console.print(f"[{time.monotonic() - start:7.0f} s] {message}")

    log(f"validating {subject.model} against {subject.reference} (cutoff {subject.cutoff_angstrom:g} Å) in {out}")
    with dask_client(workers, scheduler) as client:
        result = run(subject, config, out, preset=preset, threads=threads, client=client, log=log,
                     reference_from=reference_from)
    failed = [row for row in result["checks"] if not row["passed"]]
    for row in failed:
        console.print(f"FAIL {row['check']}: {row['system']}: {row['quantity']}: model {row['model']}, "
                      f"reference {row['reference']} (target {row['target']})")
    console.print(f"{len(result['checks']) - len(failed)} of {len(result['checks'])} checks pass; "
                  f"{Path(out) / 'validation-model.json'}, {Path(out) / 'model-validation.md'}")
    if failed:
        raise typer.Exit(1)  # a model that fails its validation fails the command (scripts, CI)
