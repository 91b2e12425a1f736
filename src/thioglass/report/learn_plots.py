"""Plots of the concurrent-learning progress."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def plot_iterations(records: list[dict], path: str | Path) -> Path:
    """Share of accurate / candidate / failed frames, and the validation and audit force RMSE, per iteration."""
    path = Path(path)
    iterations = [r["iteration"] for r in records]
    total = [max(r["explored"], 1) for r in records]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(6, 6), sharex=True)
    for key, colour in (("accurate", "tab:green"), ("candidate", "tab:orange"), ("failed", "tab:red")):
        top.plot(iterations, [100 * r[key] / n for r, n in zip(records, total)], "o-", color=colour, label=key)
    top.set_ylabel("explored frames (%)")
    top.legend()
    for key, label in (("rmse_f_val_ev_per_angstrom", "validation (its own data)"),
                       ("audit_rmse_f_ev_per_angstrom", "audit (independent frames)")):
        values = [r.get(key) for r in records]
        if any(v is not None for v in values):
            bottom.plot(iterations, [float("nan") if v is None else v for v in values], "s-", label=label)
    bottom.set_ylabel("force RMSE (eV/Å)")
    bottom.legend()
    bottom.set_xlabel("iteration")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
