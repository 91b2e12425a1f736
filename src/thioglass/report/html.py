"""Self-contained HTML reports of ``thioglass run`` and ``thioglass validate``.

One page each: the CSS is inline and every figure is a PNG embedded as a ``data:`` URI, so the
file can be mailed or archived alone and opens without network access. Text from the results is
HTML-escaped by Jinja2's autoescaping.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping
from functools import cache
from typing import Any

from matplotlib.figure import Figure


@cache
def _environment():
    from jinja2 import DictLoader, Environment, StrictUndefined

    from thioglass.report.templates import BASE, MACROS, RUN, VALIDATION

    env = Environment(loader=DictLoader({"base.html": BASE, "macros.html": MACROS, "run.html": RUN,
                                         "validation.html": VALIDATION}),
                      autoescape=True, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["num"] = format_number
    env.filters["pm"] = plus_minus
    return env


def format_number(value: Any, digits: int | None = None) -> str:
    """A number for a table: ``digits`` decimals, or 4 significant figures; '–' for None or NaN."""
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
        return "–" if value is None else str(value)
    if not math.isfinite(value):
        return "–"
    if isinstance(value, int) and digits is None:
        return str(value)
    if digits is not None:
        return f"{value:.{digits}f}"
    return f"{value:.4g}"


def plus_minus(value: Any, error: Any = None, digits: int | None = None) -> str:
    """``value ± error`` (the error left out when None)."""
    text = format_number(value, digits)
    if error is None or value is None or not isinstance(error, (int, float)) or not math.isfinite(error):
        return text
    return f"{text} ± {format_number(error, digits if digits is not None else None)}"


def data_uri(png: bytes) -> str:
    """A PNG as a ``data:image/png;base64`` URI."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def run_figures(structure: Mapping, conductivity: Mapping | None, rotation: Mapping | None,
                deviation: Mapping | None = None) -> dict[str, Figure]:
    """Every figure of a run report, keyed by the PNG name it is saved under (``deviation``: the series of
    :func:`thioglass.md.results.deviation_series`, when the run recorded one)."""
    from thioglass.report.plots import structure_figures
    from thioglass.report.property_plots import arrhenius_figure, msd_figure, rotation_figure

    figures = structure_figures(structure)
    if conductivity:
        figures["msd"] = msd_figure(conductivity["temperatures"])
        figures["arrhenius"] = arrhenius_figure(conductivity)
    if rotation and rotation.get("table"):
        figures["rotation"] = rotation_figure(rotation)
    if deviation:
        from thioglass.report.deviation_plot import deviation_figure

        figures["model_deviation"] = deviation_figure(deviation)
    return figures


def render_run_report(results: Mapping, summary: Mapping, pngs: Mapping[str, bytes]) -> str:
    """The report of one run.

    Parameters
    ----------
    results
        ``results.json`` (:func:`thioglass.workflow.run.assemble`).
    summary
        ``summary.json`` as written (inputs, timings, versions).
    pngs
        Figure name -> PNG bytes (:func:`run_figures`).
    """
    from thioglass.paper.compare import SOURCES, environment_rows, joint_rows

    glass = results.get("paper_glass")
    envs = results.get("environments") or {}
    joint = [{"former": f, "rows": joint_rows(glass, f, rows)} for f, rows in envs.items()]
    tables = [{"former": f, "rows": environment_rows(glass, f, rows)} for f, rows in envs.items()]
    for table in joint + tables:
        table["has_paper"] = any(row["paper_percent"] is not None for row in table["rows"])
    return _environment().get_template("run.html").render(
        r=results, summary=summary, figures={k: data_uri(v) for k, v in pngs.items()},
        populations=population_tables(results), joint=joint, environments=tables, sources=SOURCES,
        settings=_settings_tables(results["settings"]), versions=summary.get("versions", {}),
        run_info=_run_info(summary),
    )


def population_tables(results: Mapping) -> list[dict]:
    """Q^n and E^n of each former: ours ± spread beside the paper's and the experiment's value."""
    refs = {(row["key"], row["kind"]): row["reference"] for row in results.get("comparison", [])}
    tables = []
    for kind in ("qn", "en"):
        for former, values in (results.get(kind) or {}).items():
            # One replica has no spread to show.
            spread = (results.get(f"{kind}_std") or {}).get(former, {}) if results.get("n_replicas", 1) > 1 else {}
            rows = [{"n": n, "ours": pct, "std": spread.get(n), "paper": refs.get((f"{kind}.{former}.{n}", "paper")),
                     "experiment": refs.get((f"{kind}.{former}.{n}", "experiment"))} for n, pct in values.items()]
            tables.append({"former": former, "kind": kind, "rows": rows})
    return tables


def _settings_tables(settings: Mapping) -> list[tuple[str, dict]]:
    tables = []
    for section in ("quench", "elastic", "conductivity", "rotation", "structure"):
        values = settings.get(section) or {}
        tables.append((section, {k: _short(v) for k, v in values.items() if not isinstance(v, Mapping)}))
    return tables


def _short(value: Any, nested: bool = False) -> str:
    if isinstance(value, (list, tuple)):
        text = ", ".join(_short(v, True) for v in value)
        return f"({text})" if nested else text
    return format_number(value) if isinstance(value, float) else str(value)


def _run_info(summary: Mapping) -> dict[str, str]:
    inputs = summary.get("inputs", {})
    info = {key: str(inputs.get(key)) for key in ("threads", "workers", "scheduler", "skip")}
    info["stages read from disk"] = ", ".join(inputs.get("stages_read_from_disk", [])) or "none"
    info.update(started=summary.get("started", ""), finished=summary.get("finished", ""),
                python=summary.get("python", ""), platform=summary.get("platform", ""))
    return info


def render_validation_report(validation: Mapping) -> str:
    """The page of ``thioglass validate`` (:func:`thioglass.workflow.validate.run_validation`)."""
    return _environment().get_template("validation.html").render(v=validation, figures={})
