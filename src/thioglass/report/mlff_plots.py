"""Parity plots of a force field against its reference."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def _parity(ax, reference: np.ndarray, predicted: np.ndarray, label: str, unit: str) -> None:
    rmse = float(np.sqrt(np.mean((predicted - reference) ** 2)))
    low, high = float(min(reference.min(), predicted.min())), float(max(reference.max(), predicted.max()))
    ax.plot([low, high], [low, high], "k--", lw=0.8)
    ax.scatter(reference, predicted, s=4, alpha=0.5)
    ax.set_xlabel(f"reference {label} ({unit})")
    ax.set_ylabel(f"model {label} ({unit})")
    ax.set_title(f"RMSE {rmse:.3g} {unit}")


def parity_plots(data, folder: str | Path) -> dict[str, Path]:
    """Energy-per-atom and force-component parity plots from :class:`~thioglass.mlff.evaluate.ParityData`."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.5))
    _parity(left, np.array(data.energy_ref), np.array(data.energy_pred), "energy", "eV/atom")
    _parity(right, np.concatenate(data.force_ref).ravel(), np.concatenate(data.force_pred).ravel(), "force", "eV/Å")
    fig.tight_layout()
    path = folder / "parity.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return {"parity": path}
