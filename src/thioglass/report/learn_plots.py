"""Plots of the concurrent-learning progress."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def plot_iterations(records: list[dict], path: str | Path) -> Path:
    """Share of accurate / candidate / failed frames and validation force RMSE per iteration."""
    path = Path(path)
    iterations = [r["iteration"] for r in records]
    total = [max(r["explored"], 1) for r in records]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(6, 6), sharex=True)
    for key, colour in (("accurate", "tab:green"), ("candidate", "tab:orange"), ("failed", "tab:red")):
        top.plot(iterations, [100 * r[key] / n for r, n in zip(records, total)], "o-", color=colour, label=key)
    top.set_ylabel("explored frames (%)")
    top.legend()
    rmse = [r.get("rmse_f_val_ev_per_angstrom") for r in records]
    bottom.plot(iterations, [float("nan") if v is None else v for v in rmse], "s-")
    bottom.set_ylabel("validation force RMSE (eV/Å)")
    bottom.set_xlabel("iteration")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
