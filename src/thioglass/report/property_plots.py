"""Figures of the property workflows: Li MSD per temperature, Arrhenius plot, paddle-wheel rotation.

Like :mod:`thioglass.report.plots`, every ``*_figure`` takes the JSON-ready dicts the workflows
return (:mod:`thioglass.properties`) and builds a :class:`matplotlib.figure.Figure` on its own
Agg canvas, without pyplot.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from thioglass.analysis.conductivity import nernst_einstein
from thioglass.elements import BOLTZMANN_EV_K
from thioglass.report.plots import save_png

_SPECIES_COLOURS = {"P": "tab:purple", "Si": "tab:brown"}


def _new_figure(width_in: float, height_in: float) -> Figure:
    fig = Figure(figsize=(width_in, height_in), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def msd_figure(temperatures: Sequence[Mapping]) -> Figure:
    """Log-log MSD of every temperature, the fitted range drawn thick, and a slope-1 guide.

    Parameters
    ----------
    temperatures:
        Rows of :func:`thioglass.properties.conductivity.summarise` (``temperature_K``, ``msd``,
        ``fit_start_ps``, ``fit_end_ps``, ``included``).
    """
    fig = _new_figure(6.0, 4.5)
    ax = fig.add_subplot()
    colours = _temperature_colours([r["temperature_K"] for r in temperatures])
    for row, colour in zip(temperatures, colours):
        lag, msd = np.asarray(row["msd"]["lag_ps"]), np.asarray(row["msd"]["msd_A2"])
        positive = msd > 0
        included = row.get("included", True)
        label = f"{row['temperature_K']:g} K" + ("" if included else f" ({row.get('regime', 'not diffusive')})")
        ax.loglog(lag[positive], msd[positive], color=colour, lw=0.8, ls="-" if included else ":", label=label)
        if included:
            fit = positive & (lag >= row["fit_start_ps"]) & (lag <= row["fit_end_ps"])
            ax.loglog(lag[fit], msd[fit], color=colour, lw=2.5, alpha=0.6)
    threshold = next((r["settings"]["min_msd_A2"] for r in temperatures if "min_msd_A2" in r.get("settings", {})), None)
    if threshold is not None:
        ax.axhline(threshold, color="grey", lw=0.6, ls=":", label=f"fit starts above {threshold:g} Å$^2$")
    if temperatures:
        # Slope-1 guide a factor 2 below the hottest curve, through its fit start.
        hot = max(temperatures, key=lambda r: r["temperature_K"])
        lag, msd = np.asarray(hot["msd"]["lag_ps"]), np.asarray(hot["msd"]["msd_A2"])
        k = int(np.clip(np.searchsorted(lag, hot["fit_start_ps"]), 0, lag.size - 1))
        if msd[k] > 0:
            guide_t = np.array([lag[0], lag[-1]])
            ax.loglog(guide_t, msd[k] / 2 * guide_t / lag[k], color="grey", ls="--", lw=0.8, label="slope 1")
    ax.set_xlabel("lag time (ps)")
    ax.set_ylabel("Li MSD (Å$^2$)")
    ax.set_title("Li mean-squared displacement (thick: fitted diffusive range)")
    ax.legend(fontsize=8)
    return fig


def arrhenius_figure(result: Mapping) -> Figure:
    """D against 1000/T with the Arrhenius line, and sigma with the value extrapolated to 300 K.

    Parameters
    ----------
    result:
        :func:`thioglass.properties.conductivity.summarise` output.
    """
    fig = _new_figure(10.0, 4.2)
    ax_d, ax_s = fig.subplots(1, 2)
    rows = result["temperatures"]
    for included, style in ((True, dict(fmt="o", color="tab:blue")),
                            (False, dict(fmt="o", mfc="none", color="tab:grey"))):
        sel = [r for r in rows if r["included"] == included and (r["D_cm2_s"] or 0.0) > 0]
        if not sel:
            continue
        x = [1000.0 / r["temperature_K"] for r in sel]
        label = "used in fit" if included else "excluded (not diffusive)"
        ax_d.errorbar(x, [r["D_cm2_s"] for r in sel], yerr=[r["D_std_cm2_s"] for r in sel], label=label, **style)
        ax_s.errorbar(x, [r["sigma_mS_cm"] for r in sel], yerr=[r["sigma_std_mS_cm"] or 0.0 for r in sel],
                      label=label, **style)
    fit = result.get("arrhenius")
    if fit is not None:
        temps = [r["temperature_K"] for r in rows] + [fit["target_T_K"]]
        x = np.linspace(1000.0 / max(temps), 1000.0 / min(temps), 50)
        line_d = np.exp(fit["ln_prefactor"] - fit["Ea_eV"] * x / 1000.0 / BOLTZMANN_EV_K)
        ax_d.plot(x, line_d, color="tab:red", label=f"Ea = {fit['Ea_eV']:.3f} ± {fit['Ea_std_eV']:.3f} eV")
        # sigma line: the fitted D with the Li density used for sigma(300 K).
        density = next(r["li_density_per_cm3"] for r in rows if r["temperature_K"] == fit.get("li_density_from_T_K"))
        ax_s.plot(x, 1e3 * nernst_einstein(line_d, density, 1000.0 / x), color="tab:red", lw=0.8, ls="--")
        target_x = 1000.0 / fit["target_T_K"]
        ax_s.errorbar([target_x], [result["sigma_300K_mS_cm"]],
                      yerr=[[result["sigma_300K_mS_cm"] - result["sigma_300K_low_mS_cm"]],
                            [result["sigma_300K_high_mS_cm"] - result["sigma_300K_mS_cm"]]],
                      fmt="s", color="tab:red", label=f"{fit['target_T_K']:g} K (Arrhenius): "
                      f"{result['sigma_300K_mS_cm']:.3g} mS/cm")
    for ax, label in ((ax_d, "D (cm$^2$/s)"), (ax_s, "σ (mS/cm)")):
        ax.set_yscale("log")
        ax.set_xlabel("1000 / T (1/K)")
        ax.set_ylabel(label)
        if ax.has_data():
            ax.legend(fontsize=8)
    ax_d.set_title("Li diffusion coefficient")
    ax_s.set_title("Nernst-Einstein conductivity")
    return fig


def _temperature_colours(temperatures: Sequence[float]) -> list:
    from matplotlib import colormaps

    cmap = colormaps["coolwarm"]
    lo, hi = min(temperatures), max(temperatures)
    return [cmap(0.5 if hi == lo else (t - lo) / (hi - lo)) for t in temperatures]


def rotation_figure(result: Mapping) -> Figure:
    """The paddle-wheel picture: rotation angle against nearby Li displacement, and angle histograms.

    Parameters
    ----------
    result:
        :func:`thioglass.properties.rotation.analyse_rotation` output.
    """
    fig = _new_figure(10.0, 4.2)
    ax_scatter, ax_hist = fig.subplots(1, 2)
    table = result["table"]
    species = sorted({r["species"] for r in table})
    # Shared bins so that species with few rows are not drawn as hairlines.
    bins = np.linspace(0.0, max(1.0, 1.05 * max((r["angle_deg"] for r in table), default=1.0)), 31)
    for sp in species:
        rows = [r for r in table if r["species"] == sp and r["n_li"] > 0]
        ax_scatter.scatter([r["angle_deg"] for r in rows], [r["li_displacement_mean_angstrom"] for r in rows],
                           s=10, alpha=0.6, color=_SPECIES_COLOURS.get(sp), label=f"{sp}S$_4$")
        ax_hist.hist([r["angle_deg"] for r in table if r["species"] == sp], bins=bins, alpha=0.6,
                     color=_SPECIES_COLOURS.get(sp), label=f"{sp}S$_4$ (n = {result['angle_by_species'][sp]['n']})")
    for row in result.get("top_rows", [])[:5]:
        if row["li_displacement_mean_angstrom"] is not None:
            ax_scatter.annotate(str(row["center_index"]), (row["angle_deg"], row["li_displacement_mean_angstrom"]),
                                fontsize=7, xytext=(3, 3), textcoords="offset points")
    corr = result["correlation"]
    title = f"window {result['window_ps']:g} ps"
    if corr.get("pearson_r") is not None:
        title += f": Pearson r = {corr['pearson_r']:.2f}, Spearman ρ = {corr['spearman_rho']:.2f} (n = {corr['n']})"
    ax_scatter.set_title(title, fontsize=9)
    ax_scatter.set_xlabel("tetrahedron rotation angle (°)")
    ax_scatter.set_ylabel(f"mean displacement of Li within {result['li_radius_angstrom']:g} Å (Å)")
    ax_hist.set_xlabel("rotation angle (°)")
    ax_hist.set_ylabel("count (tetrahedron × window)")
    ax_hist.set_title("Rotation angles by species", fontsize=9)
    for ax in (ax_scatter, ax_hist):
        if ax.has_data():
            ax.legend(fontsize=8)
    return fig


def write_conductivity_plots(result: Mapping, out_dir: Path | str) -> dict[str, Path]:
    """``msd.png`` and ``arrhenius.png`` in ``out_dir``."""
    out_dir = Path(out_dir)
    return {"msd": save_png(msd_figure(result["temperatures"]), out_dir / "msd.png"),
            "arrhenius": save_png(arrhenius_figure(result), out_dir / "arrhenius.png")}


def write_rotation_plots(result: Mapping, out_dir: Path | str) -> dict[str, Path]:
    """``rotation.png`` in ``out_dir``."""
    return {"rotation": save_png(rotation_figure(result), Path(out_dir) / "rotation.png")}
