"""``thioglass convert-model``: a DeePMD model trained with the PyTorch backend, as the .pb thioglass runs."""

from __future__ import annotations

from pathlib import Path

import typer


def convert_model(
    source: Path = typer.Argument(..., help="The model as .dp: on the training machine, `dp --pt freeze` then "
                                  "`dp convert-backend frozen_model.pth frozen_model.dp`."),
    output: Path = typer.Option(..., "--output", "-o", help="The frozen TensorFlow model to write (.pb)."),
) -> None:
    """Convert a PyTorch-trained DeePMD energy model to a frozen TensorFlow .pb, checked to be the same model."""
    from rich.console import Console

    from thioglass.errors import ThioglassError
    from thioglass.mlff.convert import load_serialised, to_tensorflow
    from thioglass.runinfo import RunSummary

    out = output
    if out.suffix != ".pb":
        raise ThioglassError(f"--output {out}: give a .pb file name (LAMMPS and ASE read TensorFlow graphs)")
    load_serialised(source)  # a wrong or broken source fails before TensorFlow loads
    summary = RunSummary("convert-model", {"source": str(source), "out": str(out)})
    with summary.stage("convert"):
        diff = to_tensorflow(source, out)
    summary.add_output("model", str(out))
    summary.write(out.with_name(f"{out.stem}-summary.json"))
    Console().print(f"{out}: the same model as {source} (probe energies within {diff:.1e} eV/atom)")
