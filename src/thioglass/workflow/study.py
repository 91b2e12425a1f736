"""``thioglass study``: how a glass's density, Q^n and moduli depend on cooling rate and cell size.

The evidence a preset's protocol is picked from (issue 17): every point of a grid of cooling rates and
cell sizes is melt-quenched in ``replicas`` independent glasses with a base preset's other settings
(:mod:`thioglass.md.quench`), and each replica's glass is measured: density and Q^n over its final NPT
window (:func:`thioglass.workflow.structure.analyse_replica`), bulk and shear moduli by the preset's
elastic route (:func:`thioglass.properties.elastic.elastic_by_route`). Points are compared with the
slowest-cooled, largest point (:mod:`thioglass.workflow.study_verdict`).

Layout of ``out_dir``::

    job.json                    composition, potential, settings (a rerun must match them)
    <point>/quench/             the replicas (thioglass.md.quench); <point> is e.g. n300-r5e12
    <point>/elastic/replica_<r>/ the elastic route's work; replica_<r>.json its result, kept once done
    <point>/point.json          per-replica values, their mean and standard error, the cost; marks it done
    study.json                  every point, the comparison and the cheapest point that agrees
    study.png                   the properties against cooling rate, one line per cell size
    summary.json                inputs, versions, wall times

A killed study rerun with the same command keeps every finished point and replica and resumes the MD
of the unfinished ones from their checkpoints.
"""

from __future__ import annotations

import math
import time
from dataclasses import KW_ONLY, asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from thioglass.errors import ThioglassError
from thioglass.io.atomic import write_json
from thioglass.locking import locked_folder

#: The properties a study compares, as (key in a replica record, unit).
PROPERTIES = (("density_g_cm3", "g/cm3"), ("bulk_modulus_GPa", "GPa"), ("shear_modulus_GPa", "GPa"))
#: The settings that judge points rather than make them.
TOLERANCES = ("density_tolerance_g_cm3", "qn_tolerance_percent", "moduli_tolerance_fraction")


@dataclass(frozen=True)
class StudySettings:
    """The grid and what the rest of each point's protocol is taken from.

    ``overrides`` (``section.field=value``, as ``thioglass run --set``) apply to the base preset's
    settings; the grid then sets ``quench.n_atoms``, ``quench.cooling_rate_k_per_s`` and
    ``quench.replicas``. The tolerances say when a point agrees with the reference point
    (:func:`thioglass.workflow.study_verdict.compare`): density in g/cm3, each Q^n share in percentage
    points, the moduli as a fraction.
    """

    cooling_rates_k_per_s: tuple[float, ...]
    sizes_atoms: tuple[int, ...]
    _: KW_ONLY
    replicas: int = 3
    base_preset: str = "quick"
    overrides: tuple[str, ...] = ()
    seed: int = 1
    density_tolerance_g_cm3: float = 0.02
    qn_tolerance_percent: float = 5.0
    moduli_tolerance_fraction: float = 0.10
    grid: str = "full"

    def __post_init__(self) -> None:
        object.__setattr__(self, "cooling_rates_k_per_s", tuple(sorted({float(r) for r in self.cooling_rates_k_per_s})))
        object.__setattr__(self, "sizes_atoms", tuple(sorted({int(n) for n in self.sizes_atoms})))
        object.__setattr__(self, "overrides", tuple(self.overrides))
        if not self.cooling_rates_k_per_s or min(self.cooling_rates_k_per_s) <= 0:
            raise ThioglassError("give at least one positive cooling rate in K/s, e.g. --rates 5e12,5e13")
        if self.grid not in ("full", "cross"):
            raise ThioglassError(f"--grid {self.grid} is unknown; use full (every rate at every size) or cross "
                                 "(every rate at the smallest size, every size at the slowest rate)")
        if not self.sizes_atoms:
            raise ThioglassError("give at least one cell size in atoms, e.g. --sizes 300,1000")
        if len(self.cooling_rates_k_per_s) * len(self.sizes_atoms) < 2:
            raise ThioglassError("a study compares points: give at least two cooling rates or two cell sizes")
        if self.replicas < 2:
            raise ThioglassError(f"--replicas {self.replicas}: a study needs at least 2 replicas per point for an "
                                 "error bar (the issue asks for 3)")
        if min(self.density_tolerance_g_cm3, self.qn_tolerance_percent, self.moduli_tolerance_fraction) <= 0:
            raise ThioglassError("the study's tolerances must be positive")
        for n in self.sizes_atoms:
            self.run_settings(n, self.cooling_rates_k_per_s[0])  # one line on a bad size or override, now

    def run_settings(self, n_atoms: int, rate_k_per_s: float):
        """The :class:`~thioglass.workflow.settings.RunSettings` of one point."""
        from thioglass.workflow.settings import apply_overrides, run_settings

        grid = {"quench.n_atoms": n_atoms, "quench.cooling_rate_k_per_s": rate_k_per_s,
                "quench.replicas": self.replicas}
        settings = run_settings(self.base_preset, list(self.overrides), seed=self.seed)
        return apply_overrides(settings, grid)

    def points(self) -> list[tuple[int, float]]:
        """(n_atoms, cooling rate) of every point, smallest and fastest first: every rate at every size
        (``full``), or every rate at the smallest size and every size at the slowest rate (``cross``:
        the size effect measured where it matters, at a fraction of the cost)."""
        rates = sorted(self.cooling_rates_k_per_s, reverse=True)
        slowest, smallest = rates[-1], self.sizes_atoms[0]
        return [(n, r) for n in self.sizes_atoms for r in rates
                if self.grid == "full" or n == smallest or r == slowest]


def point_name(n_atoms: int, rate_k_per_s: float) -> str:
    """Folder name of a point: ``n300-r5e12``."""
    return f"n{n_atoms}-r{rate_k_per_s:.3g}".replace("+", "")


def mean_sem(values: Sequence[float]) -> dict[str, float]:
    """Mean, sample standard deviation and standard error of the mean (NaN where undefined)."""
    data = np.asarray([v for v in values if v is not None and np.isfinite(v)], dtype=float)
    if not len(data):
        return {"mean": math.nan, "std": math.nan, "sem": math.nan, "n": 0}
    std = float(data.std(ddof=1)) if len(data) > 1 else math.nan
    return {"mean": float(data.mean()), "std": std, "sem": std / math.sqrt(len(data)), "n": int(len(data))}


@dataclass
class StudyPoint:
    """One point of the grid: quench its replicas, measure each, write ``point.json``."""

    composition: str
    n_atoms: int
    rate_k_per_s: float
    settings: Any  # RunSettings
    potential: str | None
    folder: Path
    _: KW_ONLY
    threads: int = 1
    client: Any = None
    progress: Callable[[str, int, int | None], None] | None = None

    @property
    def name(self) -> str:
        return point_name(self.n_atoms, self.rate_k_per_s)

    def run(self) -> dict[str, Any]:
        """Quench, then measure every replica not measured yet; the point's record."""
        start = time.perf_counter()
        quench = self._quench()
        replicas = [self._measure(record) for record in sorted(quench.replicas, key=lambda r: r["replica"])]
        record = point_record(self, replicas, quench.failed, time.perf_counter() - start)
        write_json(self.folder / "point.json", record)
        return record

    def _quench(self):
        from thioglass.md.quench import run_quench

        def progress(replica: int, stage: str, step: int, _total: int) -> None:
            if self.progress is not None:
                self.progress(f"{self.name} replica {replica} {stage}", step, _total)

        return run_quench(self.composition, self.settings.quench, self.potential, self.folder / "quench",
                          self.client, threads=self.threads, progress=progress)

    def _measure(self, quenched: dict) -> dict[str, Any]:
        """Density, Q^n and moduli of one replica, read back when already measured."""
        import json

        path = self.folder / "elastic" / f"replica_{quenched['replica']}.json"
        if path.exists():
            return json.loads(path.read_text())
        record = replica_record(quenched, self.settings, self.potential, path.with_suffix(""), threads=self.threads,
                                client=self.client)
        write_json(path, record)
        return record


def replica_record(quenched: dict, settings: Any, potential: str | None, workdir: Path, *, threads: int,
                   client: Any = None) -> dict[str, Any]:
    """Density and Q^n over a replica's final window and its moduli by the settings' elastic route."""
    from thioglass.io import read_frame
    from thioglass.properties.elastic import elastic_by_route
    from thioglass.workflow.structure import analyse_replica

    structure = analyse_replica(quenched["folder"], settings.quench, settings.structure)
    workdir.mkdir(parents=True, exist_ok=True)
    elastic = elastic_by_route(settings.elastic_route, read_frame(quenched["final_structure"]), potential,
                               static=settings.elastic_static, md=settings.elastic, workdir=workdir,
                               threads=threads, client=client, native_log=workdir / "calculator.log")
    return {"replica": quenched["replica"], "density_g_cm3": structure["density_g_cm3"], "qn": structure["qn"],
            "bulk_modulus_GPa": elastic["bulk_modulus_vrh_GPa"], "shear_modulus_GPa": elastic["shear_modulus_vrh_GPa"],
            "elastic_route": settings.elastic_route, "density_converged": quenched.get("density_converged"),
            "anneal_total_ps": quenched.get("anneal_total_ps"), "n_frames": structure["n_frames"]}


def point_record(point: StudyPoint, replicas: list[dict], failed: dict, wall_s: float) -> dict[str, Any]:
    """The point's per-replica values, their statistics and its cost in atom-steps."""
    q = point.settings.quench
    anneal_ps = [r.get("anneal_total_ps") or q.anneal_ps for r in replicas]
    quench_ps = q.melt_ps + q.cooling_ps + (float(np.mean(anneal_ps)) if anneal_ps else q.anneal_ps)
    stats = {key: mean_sem([r[key] for r in replicas]) for key, _ in PROPERTIES}
    stats["qn"] = qn_stats([r["qn"] for r in replicas])
    return {"point": point.name, "n_atoms": point.n_atoms, "cooling_rate_K_per_s": point.rate_k_per_s,
            "cooling_ps": q.cooling_ps, "replicas": replicas, "failed": {str(k): v for k, v in failed.items()},
            "stats": stats, "elastic_route": point.settings.elastic_route,
            "density_converged": all(bool(r.get("density_converged", True)) for r in replicas),
            "quench_atom_steps_per_replica": point.n_atoms * quench_ps * 1000 / q.timestep_fs,
            "wall_s": round(wall_s, 1)}


def qn_stats(per_replica: list[dict[str, dict[str, float]]]) -> dict[str, dict[str, dict[str, float]]]:
    """{former: {n: mean_sem of the Q^n share in %}} over replicas (a missing species counts as 0 %)."""
    formers = sorted({f for qn in per_replica for f in qn})
    return {f: {n: mean_sem([qn.get(f, {}).get(n, 0.0) for qn in per_replica])
                for n in sorted({n for qn in per_replica for n in qn.get(f, {})})}
            for f in formers}


@locked_folder("out_dir", what="study")
def run_study(composition: str, settings: StudySettings, potential: str | None, out_dir: str | Path,
              client: Any = None, *, threads: int = 1,
              progress: Callable[[str, int, int | None], None] | None = None,
              on_point: Callable[[dict], None] | None = None) -> dict[str, Any]:
    """Run every point (finished ones are read back), compare them, write ``study.json`` and the plot.

    Points run one after another; each point's replicas (and MD elastic runs) go to ``client`` together.
    """
    import json

    from thioglass.md.jobs import check_job_file
    from thioglass.md.quench import check_inputs
    from thioglass.runinfo import RunSummary
    from thioglass.workflow.study_verdict import compare

    label, potential = check_inputs(composition, potential, settings.run_settings(*settings.points()[-1]).quench)
    out = Path(out_dir).resolve()
    # The tolerances only judge the points: a rerun may change them and re-judge what is on disk.
    record = {"composition": label, "potential": potential,
              "settings": {k: v for k, v in asdict(settings).items() if k not in TOLERANCES}}
    check_job_file(out, record, "study")
    summary = RunSummary(command="study", inputs={**record, "threads": threads})
    points = []
    for n_atoms, rate in settings.points():
        folder = out / point_name(n_atoms, rate)
        done = folder / "point.json"
        if done.exists():
            points.append(json.loads(done.read_text()))
        else:
            with summary.stage(point_name(n_atoms, rate)):
                points.append(StudyPoint(label, n_atoms, rate, settings.run_settings(n_atoms, rate), potential, folder,
                                         threads=threads, client=client, progress=progress).run())
        if on_point is not None:
            on_point(points[-1])
    study = {"composition": label, "potential": potential or "default", "settings": asdict(settings),
             **compare(points, settings)}
    write_json(out / "study.json", study)
    summary.add_output("study", out / "study.json")
    from thioglass.report.study_plot import write_study_plot

    summary.add_output("plot", write_study_plot(study, out / "study.png"))
    summary.write(out / "summary.json")
    return study

