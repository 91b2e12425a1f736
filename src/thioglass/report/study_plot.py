"""The plot of a cooling-rate and cell-size study (:mod:`thioglass.workflow.study`): density, bulk and
shear moduli and the reference's dominant Q^n share of each former against cooling rate, one line per
cell size, with the standard error over replicas as error bars."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from thioglass.io.atomic import write_bytes


def _dominant_species(study: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(former, n) of the largest Q^n share of each former in the reference point."""
    reference = next(p for p in study["points"] if p["point"] == study["reference"])
    return [(former, max(shares, key=lambda n: shares[n]["mean"]))
            for former, shares in reference["stats"]["qn"].items() if shares]


def _panel(ax, points: list[dict], value, ylabel: str) -> None:
    for n_atoms in sorted({p["n_atoms"] for p in points}):
        rows = sorted((p for p in points if p["n_atoms"] == n_atoms), key=lambda p: p["cooling_rate_K_per_s"])
        stats = [value(p) for p in rows]
        ax.errorbar([p["cooling_rate_K_per_s"] for p in rows], [s["mean"] for s in stats],
                    yerr=[s["sem"] for s in stats], marker="o", capsize=3, label=f"{n_atoms} atoms")
    ax.set_xscale("log")
    ax.set_xlabel("cooling rate (K/s)")
    ax.set_ylabel(ylabel)


def study_figure(study: Mapping[str, Any]) -> Figure:
    """The study's figure (no pyplot state)."""
    points = list(study["points"])
    species = _dominant_species(study)
    panels = [(lambda p: p["stats"]["density_g_cm3"], "density (g/cm³)"),
              (lambda p: p["stats"]["bulk_modulus_GPa"], "bulk modulus B (GPa)"),
              (lambda p: p["stats"]["shear_modulus_GPa"], "shear modulus G (GPa)")]
    zero = {"mean": 0.0, "sem": 0.0}
    panels += [(lambda p, f=f, n=n: p["stats"]["qn"].get(f, {}).get(n, zero), f"{f} Q{n} (%)") for f, n in species]
    columns = 2
    rows = (len(panels) + 1) // columns
    fig = Figure(figsize=(9.0, 3.2 * rows), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, columns, squeeze=False).ravel()
    for ax, (value, label) in zip(axes, panels):
        _panel(ax, points, value, label)
    for ax in axes[len(panels):]:
        ax.set_visible(False)
    axes[0].legend(fontsize=8)
    fig.suptitle(f"{study['composition']}: protocol study (reference {study['reference']}); "
                 "error bars: standard error over replicas", fontsize=10)
    return fig


def write_study_plot(study: Mapping[str, Any], path: Path | str) -> Path:
    """Write the figure as PNG; returns the path."""
    import io

    path = Path(path)
    buffer = io.BytesIO()
    study_figure(study).savefig(buffer, format="png", dpi=120)
    write_bytes(path, buffer.getvalue())
    return path
