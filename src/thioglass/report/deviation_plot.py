"""The ensemble's force deviation against time, one panel per workflow stage (quench, elastic,
conductivity), the trust window drawn across. Takes the series of
:func:`thioglass.md.results.deviation_series` (key ``<group>/[<run>/]<stage>`` -> one
``(time_ps, max_devi_f_eV_A)`` pair per run) and builds a Figure on its own Agg canvas."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

Series = Mapping[str, Sequence[tuple[Sequence[float], Sequence[float]]]]


def _groups(series: Series) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for key in series:
        groups.setdefault(key.split("/")[0], []).append(key)
    return groups


def deviation_figure(series: Series, *, low_eV_A: float = 0.2, high_eV_A: float = 0.4) -> Figure:
    """Max force deviation of every sampled frame against time; within a panel the stages follow one
    another (each starts where the one before ended), runs of one stage (replicas, strains) share a colour."""
    groups = _groups(series)
    fig = Figure(figsize=(7.0, 2.4 * max(len(groups), 1)), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(max(len(groups), 1), 1, squeeze=False)[:, 0]
    for ax, (group, keys) in zip(axes, groups.items()):
        offset = 0.0
        for k, key in enumerate(keys):
            end = offset
            for n, (time_ps, values) in enumerate(series[key]):
                t = np.asarray(time_ps, float) + offset
                ax.plot(t, values, lw=0.8, color=f"C{k % 10}", label=key.removeprefix(group + "/") if n == 0 else None)
                end = max(end, float(t.max()) if t.size else offset)
            offset = end
        ax.axhline(low_eV_A, color="tab:orange", ls="--", lw=0.8)
        ax.axhline(high_eV_A, color="tab:red", ls="--", lw=0.8)
        ax.set_title(group, fontsize=9)
        ax.set_ylabel("max force dev. (eV/Å)")
        ax.set_ylim(bottom=0)
        ax.legend(fontsize=7, ncols=2)
    axes[-1].set_xlabel("time (ps), stages one after another")
    return fig
