"""Structure of each quenched replica over its final NPT window, and the average over replicas.

The window is the part of the last (NPT, ``final_k``) stage the quench also averages the density
over: its frames from :data:`thioglass.md.quench.DENSITY_SKIP_FRACTION` of the stage on. Replicas
weigh the same in the average; the spread is the sample standard deviation over replicas (0 for
one replica).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Callable

import numpy as np

from thioglass.analysis.structure import StructureAnalysis, StructureSettings
from thioglass.errors import ThioglassError
from thioglass.md.protocol import QuenchSettings
from thioglass.md.quench import DENSITY_SKIP_FRACTION, final_stage
from thioglass.paper.values import environment_key


def final_window(replica_folder: Path | str, quench: QuenchSettings) -> tuple[Path, int]:
    """Trajectory of a replica's last stage (an appended anneal stage where the anneal ran on until the
    density converged) and the first MD step of its averaging window."""
    last, folder = final_stage(replica_folder, quench)
    for name in ("traj.dump", "traj.extxyz"):
        if (folder / name).exists():
            return folder / name, int(np.ceil(DENSITY_SKIP_FRACTION * last.steps(quench.timestep_fs)))
    raise ThioglassError(f"no trajectory in {folder}; delete quench.json in the run folder to redo the quench")


def analyse_replica(replica_folder: Path | str, quench: QuenchSettings, settings: StructureSettings, *,
                    progress: Callable[[int], None] | None = None) -> dict:
    """:meth:`StructureAnalysis.result` over the final window of one replica."""
    from thioglass.io import iter_frames
    from thioglass.io.frames import frame_step

    path, first_step = final_window(replica_folder, quench)
    analysis = StructureAnalysis(settings)
    n = 0
    for atoms in iter_frames(path):
        step = frame_step(atoms)
        if step is None or step >= first_step:
            analysis.compute(atoms)
            n += 1
            if progress is not None:
                progress(n)
    result = analysis.result()
    result["trajectory"] = str(path)
    result["first_step"] = first_step
    return result


def combine(results: Sequence[Mapping[str, Any]]) -> dict:
    """Mean over replicas of every structural result, with the spread of the tabulated ones.

    Returns
    -------
    dict
        The keys of :meth:`StructureAnalysis.result` (means), plus ``qn_std`` and ``en_std``
        ({former: {n: std}}), ``density_replicas_g_cm3``, ``rdf.total_std``, a ``percent_std``
        in every environment row, and ``n_replicas``.
    """
    if not results:
        raise ThioglassError("no replica to analyse; the quench produced no glass")
    keys = ("rdf", "sq", "qn", "en", "bonds", "sulfur", "coordination", "concentrations")
    out: dict[str, Any] = {key: _mean_tree([r[key] for r in results]) for key in keys}
    out["qn_std"] = _std_tree([r["qn"] for r in results])
    out["en_std"] = _std_tree([r["en"] for r in results])
    out["rdf"]["total_std"] = _std_tree([r["rdf"]["total"] for r in results])
    densities = [r["density_g_cm3"] for r in results]
    out.update(
        density_g_cm3=float(np.mean(densities)),
        density_std_g_cm3=_std(densities),
        density_replicas_g_cm3=densities,
        number_density_inv_angstrom3=float(np.mean([r["number_density_inv_angstrom3"] for r in results])),
        environments=combine_environments([r["environments"] for r in results]),
        n_frames=int(sum(r["n_frames"] for r in results)),
        n_replicas=len(results),
        settings=results[0]["settings"],
    )
    return out


def combine_environments(per_replica: Sequence[Mapping[str, list[dict]]]) -> dict[str, list[dict]]:
    """Environment rows merged over replicas: mean and spread of the population (0 where absent)."""
    formers = sorted({f for envs in per_replica for f in envs})
    out = {}
    for former in formers:
        rows: dict[tuple, dict] = {}
        for k, envs in enumerate(per_replica):
            for env in envs.get(former, []):
                key = environment_key(env["n"], env["en"], env["bridged"], env["direct"])
                entry = rows.setdefault(key, {**env, "count": 0, "values": [0.0] * len(per_replica)})
                entry["values"][k] = env["percent"]
                entry["count"] += env["count"]
        merged = []
        for entry in rows.values():
            values = entry.pop("values")
            merged.append({**entry, "percent": float(np.mean(values)), "percent_std": _std(values)})
        out[former] = sorted(merged, key=lambda r: (r["n"], r["en"], -r["percent"]))
    return out


def _std(values: Sequence[float]) -> float:
    return float(np.std(values, ddof=1)) if len(values) > 1 else 0.0


def _mean_tree(values: list[Any]) -> Any:
    """Element-wise mean of equally shaped JSON trees (dicts of numbers and lists); text from the first."""
    first = values[0]
    if isinstance(first, Mapping):
        keys = list(dict.fromkeys(k for v in values for k in v))
        return {k: _mean_tree([v.get(k) for v in values if v.get(k) is not None] or [None]) for k in keys}
    if first is None or isinstance(first, (str, bool)):
        return first
    if isinstance(first, (int, float)):
        return float(np.mean(values))
    if isinstance(first, list) and first and not isinstance(first[0], (int, float)):
        return first
    return np.mean(np.asarray(values, dtype=float), axis=0).tolist()


def _std_tree(values: list[Any]) -> Any:
    first = values[0]
    if isinstance(first, Mapping):
        keys = list(dict.fromkeys(k for v in values for k in v))
        return {k: _std_tree([v.get(k, 0.0) for v in values]) for k in keys}
    if isinstance(first, list):
        array = np.asarray(values, dtype=float)
        return (array.std(axis=0, ddof=1) if len(values) > 1 else np.zeros(array.shape[1:])).tolist()
    return _std([float(v) for v in values])
