"""``thioglass reference``: the bundled reference models, and their evidence on the crystal library."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from thioglass.cli.options import Scheduler, Workers
from thioglass.cluster import dask_client

app = typer.Typer(help="Reference models for labels: list them, compare them on the bundled crystals.",
                  no_args_is_help=True)


@app.command("list")
def list_() -> None:
    """The bundled references (their weights ship in their wheels)."""
    from rich.console import Console
    from rich.table import Table

    from thioglass.reference.calculators import DEFAULT_REFERENCE, list_references

    table = Table("name", "level of theory", "description")
    for info in list_references():
        table.add_row(info.name + (" (default)" if info.name == DEFAULT_REFERENCE else ""), info.level_of_theory,
                      info.description)
    Console().print(table)


@app.command("compare")
def compare(
    json_out: Path = typer.Option(..., "--json", help="Where to write the comparison."),
    references: Optional[str] = typer.Option(None, "--references", help="Comma-separated names (default: all bundled)."),
    crystals: Optional[str] = typer.Option(None, "--crystals", help="Comma-separated crystals (default: the library)."),
    workers: Workers = 1,
    scheduler: Scheduler = None,
) -> None:
    """Relax every crystal with every reference; compare densities with experiment."""
    from thioglass.io.atomic import write_json

    from rich.console import Console

    from thioglass.build.crystals import crystal_names
    from thioglass.reference.calculators import REFERENCES
    from thioglass.reference.compare import compare_references, markdown_table

    chosen_refs = references.split(",") if references else list(REFERENCES)
    chosen = crystals.split(",") if crystals else [c for c in crystal_names() if c != "Li10GeP2S12"]
    with dask_client(workers, scheduler) as client:
        result = compare_references(chosen_refs, chosen, client=client)
    write_json(json_out, result, indent=2)
    json_out.with_suffix(".md").write_text(markdown_table(result) + "\n")
    Console().print(markdown_table(result))
    Console().print(f"closest to experiment: {result['best']}")


@app.command("audit")
def audit(
    labels: Path = typer.Option(..., "--labels", help="DFT labels of the audit set (extxyz, e.g. training/audit-pbesol.extxyz.gz)."),
    frames: Path = typer.Option(..., "--frames", help="The tagged audit frames (e.g. training/audit-frames.extxyz)."),
    json_out: Path = typer.Option(..., "--json", help="Where to write the scores (a .md table goes beside it)."),
    references: Optional[str] = typer.Option(None, "--references", help="Comma-separated names or DeePMD models (.pb) (default: all bundled potentials)."),
    part: str = typer.Option("all", "--part", help="all, or heldout / tuning: the third of each system's frames a fine-tune never sees, or the rest."),
) -> None:
    """Score every reference against DFT labels: force RMSE and parity slope, pressure, energy differences."""
    from rich.console import Console

    from thioglass.io.atomic import write_json
    from thioglass.errors import ThioglassError
    from thioglass.reference.audit import audit_references, load_audit, markdown_groups, markdown_table, split_audit
    from thioglass.reference.calculators import REFERENCES

    if part not in ("all", "heldout", "tuning"):
        raise ThioglassError(f"--part {part} is not known; use all, heldout or tuning")
    chosen = references.split(",") if references else list(REFERENCES)
    audit_frames = load_audit(frames, labels)
    if part != "all":
        audit_frames = split_audit(audit_frames)[part]
    result = audit_references(chosen, audit_frames)
    write_json(json_out, result, indent=1)
    json_out.with_suffix(".md").write_text(markdown_table(result) + "\n\n" + markdown_groups(result) + "\n")
    Console().print(markdown_table(result))
    Console().print(markdown_groups(result))
    Console().print(f"{result['frames']} labelled frames ({result['atoms']} atoms) of {len(result['systems'])} systems")
