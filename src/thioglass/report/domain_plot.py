"""The ternary plot of a domain map (:mod:`thioglass.workflow.domain_map`): one marker per composition,
coloured by its verdict, labelled with the largest 99th percentile of the ensemble's force deviation
over its stages (eV/Å). Li2S is the lower left corner, P2S5 the lower right, SiS2 the top."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

COLOURS = {"trusted": "#2e8b57", "uncertain": "#e69f00", "outside": "#c0392b"}
_HEIGHT = math.sqrt(3) / 2


def ternary_xy(mol_percent: Mapping[str, float]) -> tuple[float, float]:
    """Plot coordinates of a composition: Li2S at (0, 0), P2S5 at (1, 0), SiS2 at (1/2, sqrt 3 / 2)."""
    total = sum(mol_percent.values())
    sis2, p2s5 = mol_percent["SiS2"] / total, mol_percent["P2S5"] / total
    return p2s5 + sis2 / 2, sis2 * _HEIGHT


def _frame(ax, step: float) -> None:
    corners = [(0, 0), (1, 0), (0.5, _HEIGHT), (0, 0)]
    ax.plot(*zip(*corners), color="black", lw=1.0)
    n = max(1, round(100 / step))
    for k in range(1, n):
        f = k / n
        for a, b in (((f, 0, 1 - f), (f, 1 - f, 0)), ((0, f, 1 - f), (1 - f, f, 0)), ((1 - f, 0, f), (0, 1 - f, f))):
            p, q = (ternary_xy(dict(zip(("Li2S", "SiS2", "P2S5"), v))) for v in (a, b))
            ax.plot([p[0], q[0]], [p[1], q[1]], color="0.85", lw=0.5, zorder=0)
    ax.text(-0.03, -0.03, "Li2S", ha="right", va="top", fontsize=11, weight="bold")
    ax.text(1.03, -0.03, "P2S5", ha="left", va="top", fontsize=11, weight="bold")
    ax.text(0.5, _HEIGHT + 0.03, "SiS2", ha="center", va="bottom", fontsize=11, weight="bold")
    ax.text(0.5, -0.06, f"grid lines every {step:g} mol %", ha="center", va="top", fontsize=7, color="0.4")


def domain_figure(domain: Mapping[str, Any]) -> Figure:
    """The map's ternary plot as a matplotlib Figure (no pyplot state)."""
    fig = Figure(figsize=(7.0, 6.6), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    _frame(ax, float(domain["settings"]["step_mol_percent"]))
    seen = set()
    for point in domain["points"]:
        x, y = ternary_xy(point["mol_percent"])
        verdict = point["verdict"]
        label = None if verdict in seen else verdict
        seen.add(verdict)
        marker = "*" if point.get("paper_glass") else "o"
        ax.scatter([x], [y], s=170 if marker == "*" else 90, marker=marker, color=COLOURS[verdict],
                   edgecolor="black", lw=0.6, zorder=3, label=label)
        p99 = max((s["p99_eV_A"] for s in point["stages"].values()), default=None)
        text = "failed" if point.get("failed") else (f"{p99:.2f}" if p99 is not None else "")
        if marker == "*":  # the paper's glasses sit close together: their labels stand upright above them
            ax.annotate(text, (x, y), xytext=(0, 8), textcoords="offset points", ha="center", va="bottom",
                        fontsize=6, rotation=90)
        else:
            ax.annotate(text, (x, y), xytext=(0, -9), textcoords="offset points", ha="center", va="top", fontsize=6)
    ax.scatter([], [], marker="*", color="white", edgecolor="black", s=120, label="the paper's glasses")
    ax.legend(loc="upper right", fontsize=8, frameon=False)
    thresholds = domain["thresholds"]
    members = len(domain["model"].get("ensemble", []))
    ax.set_title(f"Model domain: force deviation of {domain['model']['file']} and {members} ensemble member"
                 f"{'s' if members != 1 else ''}\n"
                 f"labels: largest p99 over the stages, eV/Å; trust window {thresholds['low_eV_A']:g}/"
                 f"{thresholds['high_eV_A']:g} eV/Å", fontsize=9)
    ax.set_xlim(-0.12, 1.12)
    ax.set_ylim(-0.14, _HEIGHT + 0.1)
    ax.set_aspect("equal")
    ax.axis("off")
    return fig


def write_domain_plot(domain: Mapping[str, Any], stem: str | Path, suffixes: tuple[str, ...] = (".png", ".svg")
                      ) -> list[Path]:
    """Write the ternary plot as ``stem`` + each suffix (PNG at 150 dpi, SVG); returns the paths."""
    fig = domain_figure(domain)
    paths = []
    for suffix in suffixes:
        path = Path(f"{stem}{suffix}")
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=150)
        paths.append(path)
    return paths
