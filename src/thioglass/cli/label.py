"""``thioglass label``: reference labels (energy, forces, virial) for structures, resumable."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from thioglass.cli.options import Scheduler, Workers
from thioglass.cluster import dask_client


def label(
    structures: list[Path] = typer.Argument(None, help="Structure or trajectory files to label (every frame)."),
    store: Optional[Path] = typer.Option(None, "--store", "-s", help="Label store folder (needed unless --list); "
                                         "rerunning skips frames already there."),
    reference: Optional[str] = typer.Option(None, "--reference", "-r", help="Reference: a bundled name, gpaw-pbesol, vasp, or ase:module:Class (default: the one `thioglass reference list` marks)."),
    option: Optional[list[str]] = typer.Option(None, "--option", "-O", help="Reference option KEY=VALUE (repeatable), e.g. -O encut_ev=400 for gpaw-pbesol."),
    import_file: Optional[list[Path]] = typer.Option(None, "--import", help="Import labelled DFT data (OUTCAR, vasprun.xml, extxyz)."),
    frames: str = typer.Option(":", "--frames", help="Frames of each file to label, START:STOP:STEP."),
    export: Optional[Path] = typer.Option(None, "--export", help="Also write the whole store to this extxyz file."),
    list_references: bool = typer.Option(False, "--list", help="List the bundled references and exit."),
    workers: Workers = 1,
    scheduler: Scheduler = None,
) -> None:
    """Label structures with a reference calculator through Dask, or import your own DFT labels."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if list_references:
        from thioglass.reference.calculators import list_references as bundled

        table = Table("name", "level of theory", "description")
        for info in bundled():
            table.add_row(info.name, info.level_of_theory, info.description)
        console.print(table)
        return
    if store is None:
        from thioglass.errors import ThioglassError

        raise ThioglassError("give --store FOLDER: the label store the labels go to (only --list needs none)")
    from thioglass.io import iter_frames
    from thioglass.mlff.dataset import export_labels, import_labels, summarise
    from thioglass.reference.calculators import DEFAULT_REFERENCE
    from thioglass.reference.label import LabelStore, label_frames
    from thioglass.runinfo import RunSummary

    reference = reference or DEFAULT_REFERENCE

    target = LabelStore(store)
    options = parse_options(option or [])
    summary = RunSummary("label", {"structures": [str(s) for s in structures or []], "reference": reference,
                                   "options": options, "imports": [str(f) for f in import_file or []],
                                   "frames": frames})
    with summary.stage("import"):
        for path in import_file or []:
            console.print(f"imported {import_labels(path, target)} new frames from {path}")
    if structures:
        all_frames = (atoms for path in structures for atoms in iter_frames(path, frames=frames))
        with summary.stage("label"), dask_client(workers, scheduler) as client:
            report = label_frames(all_frames, reference, target, client=client, progress=True, options=options)
        console.print(f"labelled {report.labelled}, already done {report.already_done}, failed {report.failed}")
    if export:
        console.print(f"exported {export_labels(target, export)} frames to {export}")
        summary.add_output("export", export)
    stats = summarise(target)
    console.print(f"store {store}: {stats['frames']} labelled frames, {stats['failed']} failed")
    if structures or import_file:  # an export-only call must not overwrite the running job's summary
        summary.add_output("store", store)
        summary.write(store / "summary.json")


def parse_options(items: list[str]) -> dict:
    """``KEY=VALUE`` pairs; values read as YAML scalars (``400`` is a number, ``/usr/bin/python3`` a string)."""
    import yaml

    from thioglass.errors import ThioglassError

    options = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ThioglassError(f"--option '{item}' is not KEY=VALUE, e.g. --option encut_ev=400")
        try:
            options[key.strip()] = yaml.safe_load(value)
        except yaml.YAMLError:
            raise ThioglassError(f"--option {key}: cannot read the value '{value}'") from None
    return options
