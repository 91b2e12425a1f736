"""Figures of structure-analysis results: g(r), neutron S(Q), Q^n / E^n.

Every ``*_figure`` function takes the JSON-ready dicts of
:meth:`thioglass.analysis.structure.StructureAnalysis.result` (plain lists or arrays) and returns a
:class:`matplotlib.figure.Figure` built without pyplot, so no global state is touched and figures are
freed with their last reference. Each figure gets its own Agg canvas, so the global matplotlib backend
(a notebook's, say) is left alone and no display is needed. :func:`save_png` writes one,
:func:`png_bytes` returns the PNG for an HTML report, and :func:`write_structure_plots` writes the set.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

_DPI = 150
_GRID_COLUMNS = 4


def _new_figure(width_in: float, height_in: float) -> Figure:
    fig = Figure(figsize=(width_in, height_in), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _axes_grid(n_panels: int, panel_size: tuple[float, float] = (3.2, 2.4)) -> tuple[Figure, list]:
    columns = min(_GRID_COLUMNS, n_panels)
    rows = math.ceil(n_panels / columns)
    fig = _new_figure(panel_size[0] * columns, panel_size[1] * rows)
    axes = fig.subplots(rows, columns, squeeze=False).ravel().tolist()
    for extra in axes[n_panels:]:
        extra.set_visible(False)
    return fig, axes[:n_panels]


def total_rdf_figure(rdf: Mapping) -> Figure:
    """Total g(r) against r (Å)."""
    fig = _new_figure(6.0, 4.0)
    ax = fig.add_subplot()
    ax.plot(rdf["r_angstrom"], rdf["total"], color="black", lw=1.2)
    ax.axhline(1.0, color="grey", lw=0.6, ls="--")
    ax.set_xlabel("r (Å)")
    ax.set_ylabel("g(r)")
    ax.set_title("Total radial distribution function")
    ax.set_xlim(0.0, float(np.max(rdf["r_angstrom"])))
    return fig


def _partials_figure(x: np.ndarray, partials: Mapping, xlabel: str, symbol: str, title: str) -> Figure:
    """One panel per pair (the scales of partials differ by orders of magnitude)."""
    fig, axes = _axes_grid(len(partials))
    for ax, (pair, values) in zip(axes, partials.items()):
        ax.plot(x, values, lw=1.0)
        ax.axhline(1.0, color="grey", lw=0.5, ls="--")
        ax.set_title(pair, fontsize=10)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(symbol.format(pair=pair))
        ax.set_xlim(float(np.min(x)), float(np.max(x)))
    fig.suptitle(title)
    return fig


def partial_rdf_figure(rdf: Mapping) -> Figure:
    """Every partial g_ij(r), one panel per pair."""
    r = np.asarray(rdf["r_angstrom"])
    return _partials_figure(r, rdf["partials"], "r (Å)", "g$_{{\\mathrm{{{pair}}}}}$(r)",
                            "Partial radial distribution functions")


def total_sq_figure(sq: Mapping) -> Figure:
    """Total neutron S(Q) against Q (1/Å), its normalisation named in the y label, and how it was made.

    The title names the window (Lorch or none) and the first Q; a dotted line marks the Faber-Ziman
    low-Q limit ``1 - <b^2>/<b>^2`` of a glass without number or concentration fluctuations, so a
    negative S(Q) at low Q is not read as an artefact (or the other way round).
    """
    fig = _new_figure(6.0, 4.0)
    ax = fig.add_subplot()
    ax.plot(sq["q_inv_angstrom"], sq["total"], color="black", lw=1.2)
    ax.axhline(1.0, color="grey", lw=0.6, ls="--")
    if sq.get("low_q_limit") is not None:
        ax.axhline(sq["low_q_limit"], color="tab:blue", lw=0.8, ls=":",
                   label=f"S(Q→0) without fluctuations: 1 - <b²>/<b>² = {sq['low_q_limit']:.2f}")
        ax.legend(fontsize=8, loc="lower right", frameon=False)
    ax.set_xlabel("Q (Å$^{-1}$)")
    ax.set_ylabel(f"S(Q) ({_normalisation_name(sq)})")
    window = sq.get("window", "Lorch" if sq.get("lorch") else "none")
    start = sq.get("q_min_inv_angstrom", sq["q_inv_angstrom"][0])
    ax.set_title(f"Total neutron structure factor (window: {window}; from Q = {start:.2f} Å$^{{-1}}$)", fontsize=10)
    return fig


def partial_sq_figure(sq: Mapping) -> Figure:
    """Every partial S_ij(Q), one panel per pair."""
    q = np.asarray(sq["q_inv_angstrom"])
    return _partials_figure(q, sq["partials"], "Q (Å$^{-1}$)", "S$_{{\\mathrm{{{pair}}}}}$(Q)",
                            "Partial structure factors (Faber-Ziman)")


def qn_en_figure(qn: Mapping, en: Mapping) -> Figure:
    """Grouped bars of the Q^n and E^n populations (percent of each former)."""
    fig = _new_figure(9.0, 3.8)
    ax_q, ax_e = fig.subplots(1, 2)
    _grouped_bars(ax_q, qn, "n in Q$^n$ (bridging S per former)")
    _grouped_bars(ax_e, en, "n in E$^n$ (edge-shared formers)")
    ax_q.set_title("Q$^n$")
    ax_e.set_title("E$^n$")
    return fig


def _grouped_bars(ax, table: Mapping, xlabel: str) -> None:
    formers = list(table)
    labels = sorted({k for former in formers for k in table[former]}, key=int)
    width = 0.8 / max(len(formers), 1)
    x = np.arange(len(labels))
    for k, former in enumerate(formers):
        values = [table[former].get(label, 0.0) for label in labels]
        ax.bar(x + (k - (len(formers) - 1) / 2) * width, values, width, label=former)
    ax.set_xticks(x, labels)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("population (%)")
    if formers:
        ax.legend(frameon=False)
    else:
        ax.text(0.5, 0.5, "no P or Si", transform=ax.transAxes, ha="center", va="center")


def _normalisation_name(sq: Mapping) -> str:
    text = str(sq.get("normalisation", ""))
    return text.split(":")[0].strip() or "normalised"


def save_png(fig: Figure, path: Path | str) -> Path:
    """Write ``fig`` as a PNG (parents created) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=_DPI, format="png")
    return path


def png_bytes(fig: Figure) -> bytes:
    """The PNG of ``fig`` in memory, e.g. to embed in an HTML report."""
    buffer = io.BytesIO()
    fig.savefig(buffer, dpi=_DPI, format="png")
    return buffer.getvalue()


def structure_figures(result: Mapping) -> dict[str, Figure]:
    """All figures of one structure-analysis result, keyed by the file stem they are saved under."""
    figures = {
        "rdf_total": total_rdf_figure(result["rdf"]),
        "rdf_partials": partial_rdf_figure(result["rdf"]),
        "sq_total": total_sq_figure(result["sq"]),
        "sq_partials": partial_sq_figure(result["sq"]),
    }
    if result.get("qn"):
        figures["qn_en"] = qn_en_figure(result["qn"], result.get("en", {}))
    return figures


def write_structure_plots(result: Mapping, out_dir: Path | str) -> dict[str, Path]:
    """Write every figure of :func:`structure_figures` as ``out_dir/<name>.png``."""
    out_dir = Path(out_dir)
    return {name: save_png(fig, out_dir / f"{name}.png") for name, fig in structure_figures(result).items()}
