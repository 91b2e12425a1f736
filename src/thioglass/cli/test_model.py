"""``thioglass test-model``: RMSE of a model against labelled frames, with parity plots."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def test_model(
    data: Path = typer.Option(..., "--data", "-d", help="Label store or labelled extxyz/OUTCAR/vasprun.xml file."),
    json_out: Path = typer.Option(..., "--json", help="Where to write the metrics JSON."),
    model: Optional[Path] = typer.Option(None, "--model", "-m", help="Frozen DeePMD model (.pb); default: the shipped model."),
    plots: Optional[Path] = typer.Option(None, "--plots", help="Folder for parity plots (PNG)."),
    group_by: Optional[str] = typer.Option(None, "--group-by", help="Also report RMSEs per value of this extxyz "
                                           "frame tag, e.g. family (data file only)."),
) -> None:
    """Energy per atom, force and virial RMSE of a model on labelled data."""
    import tempfile

    from rich.console import Console

    from thioglass.io.atomic import write_json

    from thioglass.potential import default_model
    from thioglass.mlff.dataset import import_labels, read_labelled, store_frames
    from thioglass.errors import ThioglassError
    from thioglass.mlff.evaluate import ParityData, load_model, parity, parity_by
    from thioglass.reference.label import LabelStore
    from thioglass.runinfo import RunSummary

    console = Console()
    model_path = str(model) if model else str(default_model())
    load_model(model_path)  # a missing or broken model fails before any data is read
    if not data.exists():
        raise ThioglassError(f"{data} does not exist; give a label store folder or a labelled data file")
    summary = RunSummary("test-model", {"model": model_path, "data": str(data)})
    groups: dict = {}
    if group_by:
        if data.is_dir():
            raise ThioglassError("--group-by reads tags from a labelled extxyz file; a label store has none")
        with summary.stage("evaluate"):
            groups = parity_by(model_path, read_labelled(data), group_by)
        result = ParityData.merged(groups.values())
    else:
        with tempfile.TemporaryDirectory() as scratch:
            if data.is_dir():
                store = LabelStore(data)
            else:
                store = LabelStore(Path(scratch) / "store")
                import_labels(data, store)
            with summary.stage("evaluate"):
                result = parity(model_path, store_frames(store))
    metrics = result.metrics()
    record = {"model": model_path, "data": str(data), **metrics}
    if groups:
        record["by_" + group_by] = {name: part.metrics() for name, part in groups.items()}
    write_json(json_out, record, indent=2)
    if plots:
        from thioglass.report.mlff_plots import parity_plots

        for name, path in parity_plots(result, plots).items():
            summary.add_output(name, path)
    for name, part in groups.items():
        values = part.metrics()
        console.print(f"  {group_by} {name}: {values['frames']} frames, energy {values['rmse_energy_mev_per_atom']:.2f} "
                      f"meV/atom, force {values['rmse_force_ev_per_angstrom']:.3f} eV/Å")
    console.print(f"{metrics['frames']} frames: energy {metrics['rmse_energy_mev_per_atom']:.2f} meV/atom, "
                  f"force {metrics['rmse_force_ev_per_angstrom']:.3f} eV/Å")
    summary.add_output("json", json_out)
    summary.write(json_out.with_suffix(".summary.json"))
