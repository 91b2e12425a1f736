"""Jinja2 templates of the HTML reports (autoescaped; no external resources)."""

BASE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{% block title %}{% endblock %}</title>
<style>
body { font-family: system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #1d2430;
       margin: 0 auto; max-width: 1100px; padding: 0 24px 48px; line-height: 1.45; }
header { border-bottom: 3px solid #2f5d8a; margin-bottom: 12px; padding-top: 18px; }
h1 { margin: 0 0 4px; font-size: 1.7em; color: #2f5d8a; }
h2 { margin-top: 36px; border-bottom: 1px solid #c8d3df; padding-bottom: 3px; color: #2f5d8a; }
h3 { margin-bottom: 6px; }
.meta { color: #556; font-size: 0.95em; margin: 4px 0 10px; }
nav a { margin-right: 14px; font-size: 0.95em; color: #2f5d8a; }
table { border-collapse: collapse; margin: 8px 0 16px; font-size: 0.9em; }
th, td { border: 1px solid #d5dde6; padding: 3px 8px; text-align: right; vertical-align: top; }
th { background: #eef3f8; }
td.text, th.text { text-align: left; }
tr:nth-child(even) td { background: #f8fafc; }
.small { font-size: 0.85em; color: #556; }
.bad { color: #a12a2a; }
.good { color: #236b2c; }
.warn { background: #fff6dd; border-left: 4px solid #e0a800; padding: 6px 10px; margin: 8px 0; }
figure { margin: 12px 0 20px; }
figure img { max-width: 100%; height: auto; border: 1px solid #e2e8ef; }
figure.narrow img { max-width: min(100%, 680px); }
figcaption { font-size: 0.88em; color: #445; }
.grid { display: flex; flex-wrap: wrap; gap: 18px; align-items: flex-start; }
code { background: #f1f4f8; padding: 0 3px; }
</style>
</head>
<body>
{% block body %}{% endblock %}
</body>
</html>
"""

MACROS = """
{% macro figure(name, caption, narrow=False) -%}
{% if name in figures %}<figure{% if narrow %} class="narrow"{% endif %}><img src="{{ figures[name] }}" alt="{{ caption }}"><figcaption>{{ caption }}</figcaption></figure>{% endif %}
{%- endmacro %}
{% macro keyvalue(title, mapping) -%}
<table><tr><th class="text" colspan="2">{{ title }}</th></tr>
{% for key, value in mapping.items() %}<tr><td class="text">{{ key }}</td><td class="text">{{ value }}</td></tr>{% endfor %}
</table>
{%- endmacro %}
{% macro comparison(rows) -%}
<table>
<tr><th class="text">quantity</th><th>ours</th><th>reference</th><th class="text">kind</th>
<th>deviation</th><th>deviation %</th><th class="text">source</th></tr>
{% for r in rows %}<tr>
<td class="text">{{ r.label }}{% if r.unit %} ({{ r.unit }}){% endif %}</td>
<td>{{ r.ours | pm(r.ours_std) }}</td>
<td>{% if r.low is not none %}{{ r.low | num }}–{{ r.high | num }}{% else %}{{ r.reference | num }}{% endif %}{% if r.note %} <span class="small">({{ r.note }})</span>{% endif %}</td>
<td class="text">{{ r.kind }}</td>
<td>{{ r.deviation | num }}</td><td>{{ r.deviation_percent | num(1) }}</td>
<td class="text small">{{ r.source }}</td></tr>{% endfor %}
</table>
{%- endmacro %}
{% macro deviation(stats) -%}
<table><tr><th class="text">MD stage</th><th>frames</th><th>every (steps)</th><th>median</th><th>p99</th><th>max</th><th>&gt; low</th><th>&gt; high</th></tr>
{% for stage, s in stats.items() %}<tr{% if s.warning %} class="bad"{% endif %}><td class="text">{{ stage }}</td><td>{{ s.n_frames }}</td><td>{{ s.every_steps | num }}</td>
<td>{{ s.median_eV_A | num(3) }}</td><td>{{ s.p99_eV_A | num(3) }}</td><td>{{ s.max_eV_A | num(3) }}</td>
<td>{{ (100 * s.share_above_low) | num(1) }} %</td><td>{{ (100 * s.share_above_high) | num(1) }} %</td></tr>{% endfor %}
</table>
{% for stage, s in stats.items() if s.warning %}<div class="warn">Stage <b>{{ stage }}</b> left the model's trust window:
{{ (100 * s.share_above_low) | num(1) }} % of its {{ s.n_frames }} frames deviate by more than {{ s.low_eV_A }} eV/Å,
{{ (100 * s.share_above_high) | num(1) }} % by more than {{ s.high_eV_A }} eV/Å (max {{ s.max_eV_A | num(2) }}); its results are extrapolated.</div>{% endfor %}
{%- endmacro %}
"""

RUN = """{% extends "base.html" %}{% import "macros.html" as m with context %}
{% block title %}thioglass run: {{ r.composition }}{% endblock %}
{% block body %}
<header>
<h1>{{ r.composition }} ({{ r.formula }})</h1>
<p class="meta">thioglass run, preset <b>{{ r.preset }}</b>, potential <code>{{ r.potential }}</code>,
{{ r.n_atoms }} atoms × {{ r.n_replicas }} replica(s), finished {{ summary.finished }}.
{% if "reference" in r.get("force_field", {}) %}Force field: {{ r.force_field.name }} ({{ r.force_field.date }}),
trained on {{ r.force_field.training_frames }} frames labelled by <code>{{ r.force_field.reference }}</code>; on
{{ r.force_field.test_frames }} held-out frames it is off by {{ "%.1f"|format(r.force_field.test_rmse_energy_mev_per_atom) }} meV/atom
and {{ "%.3f"|format(r.force_field.test_rmse_force_ev_per_angstrom) }} eV/Å (RMSE; see the model card). {% endif %}
{% if r.paper_glass %}Compared with the paper's {{ r.paper_glass }}.{% else %}The paper has no values for this composition.{% endif %}</p>
{% if r.preset != "paper" %}<p class="warn">The {{ r.preset }} preset cools at {{ "%.1e"|format(r.settings.quench.cooling_rate_k_per_s) }} K/s
(the paper: 5e12 K/s) and runs each property for picoseconds on {{ r.n_atoms }} atoms, not for nanoseconds on thousands: its glass is
quenched from a much higher fictive temperature, so its numbers (above all the conductivity) show the pipeline at work, not the
converged properties of the glass. Rerun with <code>--preset paper</code> for those.</p>{% endif %}
<nav><a href="#convergence">converged?</a><a href="#comparison">comparison</a><a href="#density">density</a><a href="#structure">structure</a>
<a href="#elastic">elastic</a><a href="#conductivity">conductivity</a><a href="#rotation">rotation</a>
<a href="#deviation">model deviation</a><a href="#settings">settings</a><a href="#run">timings &amp; versions</a></nav>
</header>

{% if r.convergence %}<h2 id="convergence">Which values are converged</h2>
<table><tr><th class="text">value</th><th class="text">converged</th><th class="text">criterion</th><th class="text">measured</th></tr>
{% for v in r.convergence["values"] %}<tr><td class="text">{{ v.quantity }}</td>
<td class="text {{ 'good' if v.converged else ('bad' if v.converged == false else '') }}">{% if v.converged is none %}cannot say{% elif v.converged %}yes{% else %}no{% endif %}</td>
<td class="text small">{{ v.criterion }}</td><td class="text small">{{ v.measured }}</td></tr>{% endfor %}
</table>{% if r.convergence.not_converged %}<p class="warn">Not converged by these criteria: {{ r.convergence.not_converged | join(", ") }}.
Quote them as this protocol's numbers, not as the glass's.</p>{% endif %}{% endif %}

<h2 id="comparison">Ours beside the paper and experiment</h2>
{% if r.comparison %}{{ m.comparison(r.comparison) }}
<p class="small">Deviation = ours − reference (for a range, from its nearest end); Q<sup>n</sup>/E<sup>n</sup> deviations are in percentage points. ± is the spread over replicas (density, Q<sup>n</sup>, E<sup>n</sup>) or the statistical uncertainty (moduli, σ, Ea).</p>
{% else %}<p>The paper reports no values for {{ r.composition }}.</p>{% endif %}

<h2 id="density">Density at {{ r.settings.quench.final_k | num(0) }} K</h2>
<p>{% if r.n_replicas > 1 %}<b>{{ r.density_g_cm3 | pm(r.density_std_g_cm3, 4) }} g/cm³</b> (mean ± standard deviation over {{ r.n_replicas }} replicas{% else %}<b>{{ r.density_g_cm3 | num(4) }} g/cm³</b> (one replica, so no spread{% endif %}; window: {{ r.density_window }}).</p>
<table><tr><th>replica</th><th>seed</th><th>atoms</th><th>density (g/cm³)</th><th>drift over window (g/cm³)</th><th>anneal (ps)</th><th>converged</th><th>T (K)</th><th>P (bar)</th><th>MD wall (s)</th></tr>
{% for d in r.density_replicas %}<tr><td>{{ d.replica }}</td><td>{{ d.seed }}</td><td>{{ d.n_atoms }}</td>
<td>{{ d.density_g_cm3 | pm(d.density_time_std_g_cm3, 4) }}</td>
<td{% if d.density_drift_significant %} class="bad"{% endif %}>{{ d.density_drift_g_cm3 | pm(d.density_drift_std_g_cm3, 3) }}{% if d.density_window_ps %} in {{ d.density_window_ps | num(1) }} ps{% endif %}</td>
<td>{{ d.anneal_total_ps | num(1) }}</td>
<td{% if d.density_converged == false %} class="bad"{% endif %}>{% if d.density_converged is none %}—{% elif d.density_converged %}yes{% else %}no{% endif %}</td>
<td>{{ d.temperature_k | num(1) }}</td><td>{{ d.pressure_bar | num(0) }}</td><td>{{ d.wall_s | num(1) }}</td></tr>{% endfor %}</table>
<p class="small">Converged: the drift over the window is not significant at 95 % and at most {{ r.settings.quench.density_tolerance_g_cm3 }} g/cm³{% if r.settings.quench.anneal_max_ps %}; the anneal runs on, {{ r.settings.quench.anneal_ps | num(1) }} ps at a time, up to {{ r.settings.quench.anneal_max_ps | num(1) }} ps, until it is{% endif %}.</p>
{% if r.density_replicas | selectattr("density_converged", "false") | list %}<div class="warn">The density has not converged in every replica
(its drift over the averaging window is significant at 95 % or above the tolerance): the glass is not equilibrated at this
temperature; anneal longer ({{ "raise quench.anneal_max_ps" if r.settings.quench.anneal_max_ps else "set quench.anneal_max_ps" }}).</div>{% endif %}

<h2 id="structure">Structure</h2>
<p class="small">Averaged over the final NPT window of every replica ({{ r.structure_frames }} frames in all); bond cutoff {{ r.settings.structure.bond_cutoff_angstrom }} Å.</p>
{{ m.figure("rdf_total", "Total radial distribution function g(r).", True) }}
{{ m.figure("rdf_partials", "Partial radial distribution functions g_ij(r).") }}
{{ m.figure("sq_total", "Total neutron structure factor S(Q), " ~ (r.sq.normalisation or ""), True) }}
{{ m.figure("sq_partials", "Partial structure factors S_ij(Q).") }}
{{ m.figure("qn_en", "Q^n and E^n populations of the glass formers.") }}
{% for t in populations %}
<h3>{{ t.former }}: {% if t.kind == "qn" %}Q<sup>n</sup>, bridging S per tetrahedron{% else %}E<sup>n</sup>, edge-sharing neighbours{% endif %}</h3>
<table><tr><th>n</th><th>ours (%)</th><th>paper ML-FF (%)</th><th>experiment (%)</th></tr>
{% for row in t.rows %}<tr><td>{{ row.n }}</td><td>{{ row.ours | pm(row.std, 1) }}</td><td>{{ row.paper | num(1) }}</td><td>{{ row.experiment | num(1) }}</td></tr>{% endfor %}
</table>{% endfor %}
{% if r.bonds %}<h3>Direct former-former bonds</h3>
<table><tr><th class="text">pair</th><th>bonds per frame</th><th class="text">fraction of atoms bonded</th></tr>
{% for pair, b in r.bonds.items() %}<tr><td class="text">{{ pair }}</td><td>{{ b.count_per_frame | num(2) }}</td>
<td class="text">{% for k, v in b.items() if k.startswith("fraction_of_") %}{{ k[12:] }}: {{ v | num(3) }} {% endfor %}</td></tr>{% endfor %}
</table>{% endif %}
{% for t in joint %}<h3>{{ t.former }}: population of each (n, E<sup>n</sup>) class</h3>
<table><tr><th>n</th><th>E<sup>n</sup></th><th>ours (%)</th><th>paper (%)</th></tr>
{% for row in t.rows %}<tr><td>{{ row.n }}</td><td>{{ row.en }}</td><td>{{ row.percent | num(1) }}</td><td>{{ row.paper_percent | num(1) }}</td></tr>{% endfor %}
</table>{% if t.has_paper %}<p class="small">Paper: {{ sources.joint }}.</p>{% endif %}{% endfor %}
{% for t in environments %}<h3>Local environments of {{ t.former }}</h3>
<table><tr><th>n (bridging S)</th><th>E<sup>n</sup></th><th class="text">{{ t.former }}-S-X</th><th class="text">{{ t.former }}-X</th><th>ours (%)</th><th>paper (%)</th></tr>
{% for row in t.rows %}<tr><td>{{ row.n }}</td><td>{{ row.en }}</td><td class="text">{{ row.bridged | join(", ") }}</td>
<td class="text">{{ row.direct | join(", ") }}</td><td>{{ row.percent | pm(row.percent_std if r.n_replicas > 1 else none, 2) }}</td><td>{{ row.paper_percent | num(2) }}</td></tr>{% endfor %}
</table>{% if t.has_paper %}<p class="small">Paper: {{ sources.environments }}.</p>{% endif %}{% endfor %}

<h2 id="elastic">Elastic constants</h2>
{% if r.elastic %}{% set e = r.elastic %}
<p>{% if e.get("route") == "static" %}Static route at 0 K: the glass relaxed (positions and cell, fmax {{ e.settings.fmax_eV_per_angstrom }} eV/Å),
strained by ±{{ e.settings.strain }} in each of the 6 Voigt directions, atoms relaxed in each strained cell; the paper averages the stress
over MD at 300 K, which gives somewhat softer moduli{% else %}Stress averaged over NVT MD of 12 cells strained by ±{{ e.settings.strain }} at
{{ e.temperature_K | num(0) }} K{% endif %}
(reference volume {{ e.volume_angstrom3 | num(1) }} Å³; mechanically stable: <b class="{{ 'good' if e.mechanically_stable else 'bad' }}">{{ e.mechanically_stable }}</b>).</p>
<div class="grid"><table><tr><th colspan="7">C (GPa){% if e.C_err_GPa is defined %}, ± standard error{% endif %}</th></tr>
<tr><th></th>{% for j in range(6) %}<th>{{ j + 1 }}</th>{% endfor %}</tr>
{% for i in range(6) %}<tr><th>{{ i + 1 }}</th>{% for j in range(6) %}<td>{{ e.C_GPa[i][j] | pm(e.C_err_GPa[i][j] if e.C_err_GPa is defined else none, 1) }}</td>{% endfor %}</tr>{% endfor %}
</table>
<table><tr><th class="text">modulus</th><th>Voigt</th><th>Reuss</th><th>Hill</th></tr>
<tr><td class="text">B (GPa)</td><td>{{ e.bulk_modulus_voigt_GPa | num(2) }}</td><td>{{ e.bulk_modulus_reuss_GPa | num(2) }}</td><td>{{ e.bulk_modulus_vrh_GPa | pm(e.get('bulk_modulus_vrh_std_GPa'), 2) }}</td></tr>
<tr><td class="text">G (GPa)</td><td>{{ e.shear_modulus_voigt_GPa | num(2) }}</td><td>{{ e.shear_modulus_reuss_GPa | num(2) }}</td><td>{{ e.shear_modulus_vrh_GPa | pm(e.get('shear_modulus_vrh_std_GPa'), 2) }}</td></tr>
<tr><td class="text">E (GPa)</td><td></td><td></td><td>{{ e.youngs_modulus_GPa | pm(e.get('youngs_modulus_std_GPa'), 2) }}</td></tr>
<tr><td class="text">ν</td><td></td><td></td><td>{{ e.poisson_ratio | pm(e.get('poisson_ratio_std'), 3) }}</td></tr>
</table></div>
{% else %}<p>Skipped.</p>{% endif %}

<h2 id="conductivity">Li conductivity</h2>
{% if r.conductivity %}{% set c = r.conductivity %}
{% if c.arrhenius %}<p>Ea = <b>{{ c.activation_energy_eV | pm(c.activation_energy_std_eV, 3) }} eV</b>
({{ c.activation_energy_kJ_mol | pm(c.activation_energy_std_kJ_mol, 1) }} kJ/mol);
σ(300 K) = <b>{{ c.sigma_300K_mS_cm | pm(c.sigma_300K_std_mS_cm) }} mS/cm</b>
(range {{ c.sigma_300K_low_mS_cm | num }}–{{ c.sigma_300K_high_mS_cm | num }}); D(300 K) = {{ c.D_300K_cm2_s | num }} cm²/s.</p>
{% else %}<p class="warn">No Arrhenius fit: fewer than two temperatures were diffusive.</p>{% endif %}
{% for w in c.warnings %}<div class="warn">{{ w }}</div>{% endfor %}
{{ m.figure("msd", "Li mean-squared displacement per temperature (thick: fitted diffusive range).", True) }}
{{ m.figure("arrhenius", "Arrhenius plots of D and the Nernst-Einstein conductivity, extrapolated to 300 K.") }}
<table><tr><th>T (K)</th><th>production (ps)</th><th>frames</th><th>D (cm²/s)</th><th>σ (mS/cm)</th><th>log-log slope</th><th>fit (ps)</th><th class="text">used</th><th class="text">note</th></tr>
{% for t in c.temperatures %}<tr><td>{{ t.temperature_K | num(0) }}</td><td>{{ t.duration_ps | num(1) }}</td><td>{{ t.n_frames }}</td>
<td>{{ t.D_cm2_s | pm(t.D_std_cm2_s) }}</td><td>{{ t.sigma_mS_cm | pm(t.sigma_std_mS_cm) }}</td><td>{{ t.loglog_slope | num(2) }}</td>
<td>{{ t.fit_start_ps | num(2) }}–{{ t.fit_end_ps | num(2) }}</td><td class="text">{{ "yes" if t.included else "no" }}</td><td class="text small">{{ t.message }}</td></tr>{% endfor %}
</table>
{% else %}<p>Skipped.</p>{% endif %}

<h2 id="rotation">Paddle-wheel analysis</h2>
{% if r.rotation %}{% set q = r.rotation %}
<p>PS<sub>4</sub>/SiS<sub>4</sub> rotation angles (Kabsch) over windows of {{ q.window_ps | num(3) }} ps at {{ q.temperature_K | num(0) }} K:
{{ q.n_windows }} window(s), {{ q.n_tetrahedra }} tetrahedra; Li within {{ q.li_radius_angstrom }} Å of a centre count as nearby.
{% if q.correlation.pearson_r is not none %}Angle vs nearby-Li displacement: Pearson r = {{ q.correlation.pearson_r | num(2) }}, Spearman ρ = {{ q.correlation.spearman_rho | num(2) }} (n = {{ q.correlation.n }}).{% else %}{{ q.correlation.message }}{% endif %}</p>
{{ m.figure("rotation", "Rotation angle against the displacement of nearby Li, and the angle distribution by species.") }}
<div class="grid"><table><tr><th class="text">unit</th><th>rows</th><th>mean angle (°)</th><th>std (°)</th></tr>
{% for sp, s in q.angle_by_species.items() %}<tr><td class="text">{{ sp }}S<sub>4</sub></td><td>{{ s.n }}</td><td>{{ s.mean_deg | num(2) }}</td><td>{{ s.std_deg | num(2) }}</td></tr>{% endfor %}
</table>
<table><tr><th>window</th><th>t0 (ps)</th><th>centre</th><th class="text">unit</th><th>angle (°)</th><th>fit RMSD (Å)</th><th>Li nearby</th><th>Li displacement (Å)</th></tr>
{% for t in q.top_rows %}<tr><td>{{ t.window }}</td><td>{{ t.t0_ps | num(3) }}</td><td>{{ t.center_index }}</td><td class="text">{{ t.species }}S<sub>4</sub></td>
<td>{{ t.angle_deg | num(1) }}</td><td>{{ t.fit_rmsd_angstrom | num(2) }}</td><td>{{ t.n_li }}</td><td>{{ t.li_displacement_mean_angstrom | num(2) }}</td></tr>{% endfor %}
</table></div>
{% else %}<p>Skipped.</p>{% endif %}

<h2 id="deviation">Model deviation: is the glass inside the model's domain?</h2>
{% if r.get("model_deviation") %}<p>Maximum over atoms of the standard deviation of the force over the ensemble's models, on sampled frames of every
MD stage (eV/Å; DP-GEN's trust window {{ (r.model_deviation.values() | first).low_eV_A }}–{{ (r.model_deviation.values() | first).high_eV_A }} eV/Å).
A stage is flagged when more than 1 % of its frames are above the low bound or any frame is above the high bound.</p>
{{ m.deviation(r.model_deviation) }}
{{ m.figure("model_deviation", "Ensemble force deviation of every sampled frame against time; dashed: the trust window.") }}
{% else %}<p>Not recorded: {{ "this potential has no ensemble" if r.potential != "default" else "this thioglass ships no ensemble with its default model yet" }}
(a DeePMD model takes one with <code>--ensemble m1.pb,m2.pb</code>).</p>{% endif %}

<h2 id="settings">Settings</h2>
<div class="grid">{% for title, mapping in settings %}{{ m.keyvalue(title, mapping) }}{% endfor %}</div>

<h2 id="run">Timings and versions</h2>
<div class="grid">{{ m.keyvalue("wall time (s)", summary.timings_s) }}{{ m.keyvalue("versions", versions) }}
{{ m.keyvalue("run", run_info) }}</div>
{% endblock %}
"""

VALIDATION = """{% extends "base.html" %}{% import "macros.html" as m with context %}
{% block title %}thioglass validation ({{ v.preset }}){% endblock %}
{% block body %}
<header>
<h1>Validation against the paper and experiment</h1>
<p class="meta">Preset <b>{{ v.preset }}</b>, potential <code>{{ v.potential }}</code>, finished {{ v.finished }}.
Each glass has its own report: {% for g in v.glasses %}<a href="{{ g.report }}">{{ g.composition }}</a>{% if not loop.last %}, {% endif %}{% endfor %}.</p>
</header>
<h2>Li<sub>10</sub>SiP<sub>2</sub>S<sub>12</sub> lattice at {{ v.lattice.temperature_K | num(0) if v.lattice else "300" }} K (the paper's Table 1)</h2>
{% if v.lattice %}<p>NPT MD with a fully flexible cell, {{ v.lattice.n_atoms }} atoms ({{ v.lattice.supercell | join("×") }} cells),
{{ v.lattice.n_samples }} samples over {{ v.lattice.production_ps | num(2) }} ps; mean temperature {{ v.lattice.temperature_mean_K | num(1) }} K.</p>
{{ m.comparison(v.lattice.comparison) }}
{% if v.lattice.get("model_deviation") %}<h3>Ensemble force deviation (eV/Å)</h3>{{ m.deviation(v.lattice.model_deviation) }}{% endif %}
{% else %}<p>Skipped.</p>{% endif %}
{% for g in v.glasses %}
<h2>{{ g.composition }}</h2>
{% if g.get("convergence") %}{% set c = g.convergence %}<p class="{{ 'good' if c.all_converged else 'warn' }}">{% if c.all_converged %}Every value converged by its criterion.{% elif c.not_converged %}Not converged: {{ c.not_converged | join(", ") }}.{% else %}Convergence cannot be told for every value.{% endif %}
Criteria and measurements: <a href="{{ g.report }}#convergence">its report</a>.</p>{% endif %}
{% if g.comparison %}{{ m.comparison(g.comparison) }}{% else %}<p>No reference values.</p>{% endif %}
{% if g.get("model_deviation") %}<h3>Ensemble force deviation (eV/Å)</h3>{{ m.deviation(g.model_deviation) }}{% endif %}
{% endfor %}
<h2>Timings</h2>{{ m.keyvalue("wall time (s)", v.timings_s) }}
{% endblock %}
"""
