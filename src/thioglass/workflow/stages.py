"""The stages of ``thioglass run``: quench, structure, elastic, conductivity, rotation.

Each stage is a function of a :class:`Context` returning a JSON-ready dict; :mod:`.run` stores it
as ``<stage>.json`` and skips the stage when that file exists. The MD inside a stage resumes by
itself (finished replicas, stages and temperatures are kept), so a stage killed half-way redoes
only what had not finished. The properties are computed on the first replica's glass.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Protocol

from thioglass.errors import ThioglassError
from thioglass.workflow.settings import RunSettings


class Reporter(Protocol):
    """Receives progress: stage status changes and the steps of the jobs inside a stage."""

    def stage(self, name: str, status: str) -> None:
        """``status``: ``start``, ``done``, ``resumed`` (read from disk) or ``skipped``."""

    def job(self, stage: str, job: str, done: int, total: int | None) -> None:
        """``done`` of ``total`` units (MD steps or frames) of one job of ``stage``."""


class NullReporter:
    """Reports nothing."""

    def stage(self, name: str, status: str) -> None:
        pass

    def job(self, stage: str, job: str, done: int, total: int | None) -> None:
        pass


@dataclass
class Context:
    """What every stage needs: inputs, where to write, how to run, and the stages already done."""

    label: str
    settings: RunSettings
    potential: str | None
    out: Path
    threads: int = 2
    client: Any = None
    reporter: Reporter = field(default_factory=NullReporter)
    records: dict[str, dict] = field(default_factory=dict)
    ensemble: tuple[str, ...] | None = None

    def progress(self, stage: str) -> Callable[[str, int, int], None]:
        return lambda job, done, total: self.reporter.job(stage, job, done, total)

    def engine(self):
        from thioglass.md.engine import make_engine

        return make_engine(self.potential, self.threads, ensemble=self.ensemble)

    def first_replica(self) -> dict:
        replicas = self.records["quench"]["replicas"]
        if not replicas:
            raise ThioglassError("the quench produced no glass; delete quench.json in the run folder and rerun")
        return min(replicas, key=lambda r: r["replica"])

    def glass(self):
        from thioglass.io import read_frame

        return read_frame(self.first_replica()["final_structure"])


def quench(ctx: Context) -> dict:
    """Melt-quench every replica (:func:`thioglass.md.quench.run_quench`)."""
    from thioglass.md.protocol import melt_quench
    from thioglass.md.quench import run_quench

    q = ctx.settings.quench
    # Up to the longest anneal the settings allow: the bar ends early when the density converges sooner.
    steps = {s.name: s.steps(q.timestep_fs) for s in melt_quench(q, q.max_extensions).stages}
    offsets = {name: sum(list(steps.values())[:k]) for k, name in enumerate(steps)}
    total = sum(steps.values())

    def progress(replica: int, stage: str, step: int, _stage_total: int) -> None:
        ctx.reporter.job("quench", f"replica {replica}", offsets[stage] + step, total)

    result = run_quench(ctx.label, q, ctx.potential, ctx.out / "quench", ctx.client, threads=ctx.threads,
                        progress=progress, ensemble=ctx.ensemble)
    return result.to_json()


def structure(ctx: Context) -> dict:
    """Structure of each replica over its final NPT window, averaged with the spread over replicas."""
    from thioglass.workflow.structure import analyse_replica, combine

    per_replica = []
    for record in sorted(ctx.records["quench"]["replicas"], key=lambda r: r["replica"]):
        name = f"replica {record['replica']}"
        per_replica.append(analyse_replica(record["folder"], ctx.settings.quench, ctx.settings.structure,
                                           progress=lambda n, job=name: ctx.reporter.job("structure", job, n, None)))
    result = combine(per_replica)
    result["replicas"] = [
        {"replica": record["replica"], "density_g_cm3": r["density_g_cm3"], "n_frames": r["n_frames"],
         "qn": r["qn"], "en": r["en"], "trajectory": r["trajectory"]}
        for record, r in zip(sorted(ctx.records["quench"]["replicas"], key=lambda r: r["replica"]), per_replica)
    ]
    return result


def elastic(ctx: Context) -> dict:
    """Elastic tensor and moduli of the first replica's glass by ``elastic_route``
    (:func:`~thioglass.properties.elastic.elastic_by_route`): at temperature from MD, or at 0 K by
    the static route."""
    from thioglass.properties.elastic import elastic_by_route

    s, folder = ctx.settings, ctx.out / "elastic"
    if s.elastic_route == "static":
        ctx.reporter.job("elastic", "static: relax, strain, relax", 0, None)
        folder.mkdir(parents=True, exist_ok=True)
    result = elastic_by_route(s.elastic_route, ctx.glass(), ctx.potential, static=s.elastic_static, md=s.elastic,
                              workdir=folder, threads=ctx.threads, client=ctx.client,
                              progress=ctx.progress("elastic"), native_log=folder / "calculator.log",
                              ensemble=ctx.ensemble)
    result["structure"] = ctx.first_replica()["final_structure"]
    return result


def conductivity(ctx: Context) -> dict:
    """NPT run per temperature (each with its own length), Li MSD, D, sigma, Arrhenius fit.

    :func:`~thioglass.properties.conductivity.run_conductivity` with the plan's length at each
    temperature; the jobs of every temperature run together (in parallel on a Dask client).
    """
    from thioglass.properties.conductivity import run_conductivity

    plan, timestep = ctx.settings.conductivity, ctx.settings.quench.timestep_fs
    glass = ctx.glass()
    if "Li" not in glass.get_chemical_symbols():
        raise ThioglassError(f"{ctx.label} has no Li to conduct; add --skip conductivity,rotation")
    per_t = [plan.settings_at(t, timestep) for t in plan.temperatures_k]
    result = run_conductivity(glass, per_t, ctx.engine(), ctx.out / "conductivity", client=ctx.client,
                              progress=ctx.progress("conductivity"),
                              on_analysis=lambda t: ctx.reporter.job("conductivity", f"analysis {t:g} K", 0, None))
    result["settings"] = asdict(plan)
    result["structure"] = ctx.first_replica()["final_structure"]
    return result


def rotation(ctx: Context) -> dict:
    """Paddle-wheel analysis of the conductivity run nearest ``rotation_temperature_k``.

    Without a conductivity stage it reads the first replica's final NPT window instead.
    """
    from thioglass.properties.rotation import analyse_rotation
    from thioglass.workflow.structure import final_window

    s = ctx.settings
    cond = ctx.records.get("conductivity")
    if cond:
        row = min(cond["temperatures"], key=lambda r: abs(r["temperature_K"] - s.rotation_temperature_k))
        path, temperature = row["trajectory"], row["temperature_K"]
    else:
        path, temperature = final_window(ctx.first_replica()["folder"], s.quench)[0], s.quench.final_k
    settings = replace(s.rotation, timestep_fs=s.quench.timestep_fs)
    result = analyse_rotation(path, settings,
                              progress=lambda n: ctx.reporter.job("rotation", "frames", n, None))
    result["temperature_K"] = temperature
    return result


STAGES: dict[str, Callable[[Context], dict]] = {
    "quench": quench, "structure": structure, "elastic": elastic, "conductivity": conductivity, "rotation": rotation,
}
OPTIONAL = ("elastic", "conductivity", "rotation")
