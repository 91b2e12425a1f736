"""Each iteration's models against frames the loop never explored: the learning curve that cannot follow
the model.

The loop's own test, the share of explored frames inside the trust window, is measured on frames the
models themselves drove, and an error all members share (the ensemble agrees, and is wrong) never shows
in it. The audit scores every member on labelled frames made independently (reference-driven MD, DFT),
grouped by a text tag (``family`` by default), after every training:

- energy RMSE and mean error (model minus label, meV/atom: the mean error is the shared offset that the
  deviation cannot see), force RMSE (eV/Å), per group and over all frames;
- the frames whose key is in the loop's label store are left out and counted: a frame trained on is not
  an audit.

``audit.json`` in the iteration's folder keeps the result; the iteration's record keeps the members' mean.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from thioglass.errors import ThioglassError


def audit_frames(files: Sequence[str], trained_keys: Iterable[str]) -> tuple[list, int]:
    """(labelled frames of ``files`` not in ``trained_keys``, how many were left out for being there)."""
    from thioglass.mlff.dataset import read_labelled
    from thioglass.reference.label import frame_key

    trained = set(trained_keys)
    kept, left_out = [], 0
    for path in files:
        for atoms, label in read_labelled(path):
            if (atoms.info.get("frame_key") or frame_key(atoms)) in trained:
                left_out += 1
            else:
                kept.append((atoms, label))
    return kept, left_out


def _scores(data: Any) -> dict[str, float | int]:
    """A parity set's RMSEs and its mean energy error (meV/atom, model minus label)."""
    metrics = data.metrics()
    metrics["mean_energy_error_mev_per_atom"] = float(np.mean(np.subtract(data.energy_pred, data.energy_ref)) * 1000)
    return metrics


def audit_models(models: Sequence[str], frames: list, group_by: str, left_out: int = 0) -> dict[str, Any]:
    """Every member's scores per group and overall, and the members' mean of the overall scores."""
    from thioglass.mlff.evaluate import ParityData, parity_by

    if not frames:
        raise ThioglassError("the audit files hold no frame the loop has not trained on; give independent frames")
    members = []
    for model in models:
        groups = parity_by(model, frames, group_by)
        members.append({"model": str(model), "overall": _scores(ParityData.merged(groups.values())),
                        "groups": {name: _scores(data) for name, data in groups.items()}})
    keys = ("rmse_energy_mev_per_atom", "mean_energy_error_mev_per_atom", "rmse_force_ev_per_angstrom")
    mean = {key: float(np.mean([m["overall"][key] for m in members])) for key in keys}
    return {"frames": len(frames), "left_out_as_trained": left_out, "group_by": group_by, "mean": mean,
            "members": members}


def summary_line(audit: dict[str, Any]) -> str:
    """One log line: the members' mean scores and the worst group's mean error."""
    mean = audit["mean"]
    groups = audit["members"][0]["groups"]
    worst = max(groups, key=lambda g: abs(groups[g]["mean_energy_error_mev_per_atom"]))
    return (f"audit on {audit['frames']} independent frames: force RMSE {mean['rmse_force_ev_per_angstrom']:.3f} eV/Å, "
            f"energy RMSE {mean['rmse_energy_mev_per_atom']:.1f} meV/atom (member mean); largest offset "
            f"{worst} {groups[worst]['mean_energy_error_mev_per_atom']:+.1f} meV/atom (member 0)")

