"""The paper's and the experimental reference values that ``thioglass run`` and ``validate`` compare with.

Source: R. Zhou, K. Luo, S. W. Martin and Q. An, "A machine learning force field for lithium
sulfide glassy electrolytes and its comprehensive validation and application" (the paper in
``shared/paper``), Tables 1-7, S1 and S2 and its text; the experiments are those the paper
quotes, cited by the paper's reference number and first author. Values are as printed; a
range is kept as ``low``-``high``. Every value is keyed by the glass's canonical composition
label and by the key it has in ``results.json`` (``qn.Si.2`` is the Si^2 population in %).
"""

from __future__ import annotations

from dataclasses import dataclass

from thioglass.elements import EV_TO_KJ_MOL

PAPER = "Zhou, Luo, Martin & An (the paper)"
GLASSES = ("50Li2S-50SiS2", "67Li2S-33P2S5", "70Li2S-30P2S5", "75Li2S-25P2S5", "60Li2S-32SiS2-8P2S5")

# The experiments the paper cites, by its reference numbers.
KATO_2018 = "Kato et al., J. Ceram. Soc. Jpn. 126, 719 (2018) [paper ref. 6]"
SAKUDA_2013 = "Sakuda et al., J. Ceram. Soc. Jpn. 121, 946 (2013) [paper ref. 5]"
KATO_2018_AEM = "Kato et al., ACS Appl. Energy Mater. 1, 1002 (2018) [paper ref. 41]"
TABLE2_EXPT = "experiment quoted in the paper's Table 2 [paper refs. 5, 41]"
MORI_2020 = "Mori et al., Solid State Ion. 344, 115141 (2020) [paper ref. 11]"
ZHAO_2022 = "Zhao et al., Batter. Supercaps 5 (2022) [paper ref. 14]"
KENNEDY_1989 = "Kennedy & Zhang, J. Electrochem. Soc. 136, 2441 (1989) [paper ref. 13]"
LPS_SIGMA_EXPT = "quoted in the paper's section 3.3 [paper refs. 15, 47]"
LISIS_EXPT = "quoted in the paper's section 3.2 [paper refs. 12, 45]"
WHITELEY_2014 = "Whiteley et al., J. Electrochem. Soc. 161, A1812 (2014) [paper ref. 38], the paper's Table 1"


@dataclass(frozen=True)
class Reference:
    """One reference value.

    Attributes
    ----------
    value
        Central value in the unit of the quantity's key (None when only a range is known).
    kind
        ``"paper"`` (the paper's ML-FF) or ``"experiment"``.
    source
        Where the number is printed.
    low, high
        Bounds of a quoted range.
    note
        The number as printed when its unit differs (``~25 kJ/mol``).
    """

    value: float | None
    kind: str
    source: str
    low: float | None = None
    high: float | None = None
    note: str = ""

    def deviation(self, ours: float) -> tuple[float | None, float | None]:
        """(ours - reference, the same in % of the reference); a range counts as its nearest end."""
        if self.value is None and self.low is None:
            return None, None
        if self.low is not None and self.high is not None:
            nearest = min(max(ours, self.low), self.high)
            return ours - nearest, 100.0 * (ours - nearest) / nearest if nearest else None
        diff = ours - self.value
        return diff, (100.0 * diff / self.value if self.value else None)


def _paper(table: str) -> str:
    return f"{PAPER}, {table}"


def _kj(value: float, kind: str, source: str) -> Reference:
    return Reference(value / EV_TO_KJ_MOL, kind, source, note=f"{value:g} kJ/mol")


def _moduli(b: float, e: float, g: float, nu: float, kind: str, source: str) -> dict[str, Reference]:
    return {"bulk_modulus_vrh_GPa": Reference(b, kind, source), "youngs_modulus_GPa": Reference(e, kind, source),
            "shear_modulus_vrh_GPa": Reference(g, kind, source), "poisson_ratio": Reference(nu, kind, source)}


def _populations(key: str, former: str, values: dict[int, float | None], kind: str,
                 source: str) -> dict[str, Reference]:
    return {f"{key}.{former}.{n}": Reference(v, kind, source) for n, v in values.items() if v is not None}


def _merge(*parts: dict[str, Reference]) -> dict[str, tuple[Reference, ...]]:
    merged: dict[str, list[Reference]] = {}
    for part in parts:
        for key, ref in part.items():
            merged.setdefault(key, []).append(ref)
    return {key: tuple(refs) for key, refs in merged.items()}


def _lps(x: int, density: tuple[float, float], moduli: tuple, expt_moduli: tuple, expt_source: str,
         sigma: float, ea_ev: float, d: float, pn: dict[int, float], en: dict[int, float]) -> dict:
    t6 = _paper("Table 6")
    return _merge(
        {"density_g_cm3": Reference(density[0], "paper", _paper("Table 2"))},
        {"density_g_cm3": Reference(density[1], "experiment", TABLE2_EXPT)},
        _moduli(*moduli, "paper", _paper("Table 3")),
        _moduli(*expt_moduli, "experiment", expt_source),
        {"sigma_300K_mS_cm": Reference(sigma, "paper", _paper("section 3.3")),
         "activation_energy_eV": Reference(ea_ev, "paper", _paper("section 3.3")),
         "D_300K_cm2_s": Reference(d, "paper", _paper("section 3.3"))},
        {"sigma_300K_mS_cm": Reference(None, "experiment", LPS_SIGMA_EXPT, 0.3, 1.0)}
        if x == 75 else {},
        _populations("qn", "P", pn, "paper", t6),
        _populations("en", "P", en, "paper", t6),
    )


GLASS_REFERENCES: dict[str, dict[str, tuple[Reference, ...]]] = {
    "50Li2S-50SiS2": _merge(
        _moduli(19.42, 23.82, 9.19, 0.30, "paper", _paper("Table 3")),
        _moduli(26.10, 31.00, 11.90, 0.30, "experiment", KATO_2018),
        {"sigma_300K_mS_cm": Reference(2.13, "paper", _paper("section 3.2")),
         "activation_energy_eV": _kj(25.0, "paper", _paper("section 3.2"))},
        {"activation_energy_eV": _kj(31.0, "experiment", LISIS_EXPT)},
        _populations("qn", "Si", {0: 4.2, 1: 14.4, 2: 59.6, 3: 20.6, 4: 1.1}, "paper", _paper("Table 4")),
        _populations("en", "Si", {0: 34.5, 1: 65.2, 2: 0.3}, "paper", _paper("Table 4")),
        _populations("qn", "Si", {2: 50.0, 4: 50.0}, "experiment", MORI_2020 + ", the paper's Table 4"),
        _populations("en", "Si", {0: 77.0, 1: 23.0}, "experiment", MORI_2020 + ", the paper's Table 4"),
    ),
    "67Li2S-33SiS2": _merge(_moduli(23.64, 28.27, 10.87, 0.30, "paper", _paper("Table 3"))),
    "67Li2S-33P2S5": _lps(67, (1.89, 1.95), (14.98, 18.41, 7.11, 0.30), (20.70, 22.10, 8.40, 0.31), KATO_2018,
                          2.2, 0.313, 2.51e-8, {0: 50.1, 1: 26.3, 2: 21.5, 3: 2.1}, {0: 83.1, 1: 16.9}),
    "70Li2S-30P2S5": _lps(70, (1.88, 1.91), (16.66, 20.18, 7.77, 0.30), (19.70, 21.90, 8.30, 0.32), SAKUDA_2013,
                          2.9, 0.307, 2.96e-8, {0: 67.6, 1: 20.8, 2: 11.3, 3: 0.3}, {0: 90.4, 1: 9.6}),
    "75Li2S-25P2S5": _lps(75, (1.85, 1.88), (18.61, 21.89, 8.39, 0.30), (20.90, 22.90, 8.70, 0.32), KATO_2018_AEM,
                          3.6, 0.303, 3.16e-8, {0: 93.2, 1: 6.8, 2: 0.0, 3: 0.0}, {0: 100.0, 1: 0.0}),
    "60Li2S-32SiS2-8P2S5": _merge(
        _moduli(19.87, 24.19, 9.33, 0.30, "paper", _paper("Table 3")),
        {"sigma_300K_mS_cm": Reference(2.57, "paper", _paper("section 3.4")),
         "activation_energy_eV": _kj(26.1, "paper", _paper("section 3.4"))},
        {"sigma_300K_mS_cm": Reference(1.0, "experiment", ZHAO_2022)},
        {"sigma_300K_mS_cm": Reference(0.7, "experiment", KENNEDY_1989)},
        {"activation_energy_eV": _kj(30.9, "experiment", ZHAO_2022)},
        {"activation_energy_eV": _kj(34.7, "experiment", KENNEDY_1989)},
        _populations("qn", "Si", {0: 20.2, 1: 25.3, 2: 44.2, 3: 9.8, 4: 0.5}, "paper", _paper("Table 7")),
        _populations("en", "Si", {0: 58.4, 1: 41.3, 2: 0.3}, "paper", _paper("Table 7")),
        _populations("qn", "P", {0: 69.8, 1: 21.3, 2: 8.4, 3: 0.6, 4: 0.0}, "paper", _paper("Table 7")),
        _populations("en", "P", {0: 94.3, 1: 5.7, 2: 0.0}, "paper", _paper("Table 7")),
        _populations("qn", "Si", {0: 70.2, 1: 5.1, 2: 22.7, 3: 2.0, 4: 0.0}, "experiment", ZHAO_2022 + ", Table 7"),
        _populations("en", "Si", {0: 83.0, 1: 17.0, 2: 0.0}, "experiment", ZHAO_2022 + ", Table 7"),
        _populations("qn", "P", {0: 85.9, 1: 14.0, 2: 0.0, 3: 0.0, 4: 0.0}, "experiment", ZHAO_2022 + ", Table 7"),
        _populations("en", "P", {0: 100.0, 1: 0.0, 2: 0.0}, "experiment", ZHAO_2022 + ", Table 7"),
    ),
}

#: Joint (n, E^n) populations (%) of Si in 50Li2S-50SiS2, the paper's Table 5 (rows Si^0..Si^4).
TABLE5_SI_JOINT: dict[tuple[int, int], float] = {
    (0, 0): 4.8, (0, 1): 0.0, (0, 2): 0.0, (1, 0): 16.9, (1, 1): 0.0, (1, 2): 0.0, (2, 0): 12.6, (2, 1): 41.9,
    (2, 2): 0.0, (3, 0): 2.9, (3, 1): 19.3, (3, 2): 0.0, (4, 0): 0.0, (4, 1): 0.9, (4, 2): 0.8,
}

# (n, E^n, formers through bridging S, formers bonded directly, population %), Tables S1 and S2.
_TABLE_S1_P = (
    (0, 0, "", "", 60.78), (0, 0, "", "P", 8.98), (1, 0, "Si", "", 16.80), (1, 0, "Si", "P", 1.02),
    (1, 0, "P", "", 3.44), (2, 0, "Si,Si", "", 1.17), (2, 0, "Si,Si", "P", 0.16), (2, 0, "Si,P", "", 1.80),
    (2, 0, "P,P", "", 0.08), (2, 1, "Si,Si", "", 5.00), (2, 1, "P,P", "", 0.16), (2, 1, "Si,Si", "P", 0.08),
    (3, 0, "Si,Si,Si", "", 0.08), (3, 1, "Si,Si,Si", "", 0.31), (3, 1, "Si,Si,P", "", 0.16),
)
_TABLE_S2_SI = (
    (0, 0, "", "", 20.23), (1, 0, "Si", "", 21.72), (1, 0, "P,P", "", 3.59), (2, 0, "Si,Si", "", 7.89),
    (2, 0, "Si,P", "", 3.24), (2, 0, "P,P", "", 0.82), (2, 1, "Si,Si", "", 29.45), (2, 1, "P,P", "", 2.77),
    (3, 0, "Si,Si,Si", "", 0.70), (3, 0, "Si,Si,P", "", 0.20), (3, 1, "Si,Si,Si", "", 6.37),
    (3, 1, "Si,Si,P", "", 1.95), (3, 1, "Si,P,P", "", 0.51), (3, 1, "P,P,P", "", 0.08),
    (4, 1, "Si,Si,Si,Si", "", 0.12), (4, 1, "Si,P,P,P", "", 0.04), (4, 2, "Si,Si,Si,Si", "", 0.31),
)


def environment_key(n: int, en: int, bridged: list[str] | tuple[str, ...] | str,
                    direct: list[str] | tuple[str, ...] | str) -> tuple[int, int, tuple[str, ...], tuple[str, ...]]:
    """Order-free key of one local environment (as in ``results.json`` ``environments`` rows)."""
    def names(value) -> tuple[str, ...]:
        items = value.split(",") if isinstance(value, str) else value
        return tuple(sorted(x.strip() for x in items if x.strip()))

    return int(n), int(en), names(bridged), names(direct)


#: Detailed environments of the ternary glass by former: key -> population (%), Tables S1 and S2.
ENVIRONMENT_REFERENCES: dict[str, dict[str, dict[tuple, float]]] = {
    "60Li2S-32SiS2-8P2S5": {
        "P": {environment_key(*row[:4]): row[4] for row in _TABLE_S1_P},
        "Si": {environment_key(*row[:4]): row[4] for row in _TABLE_S2_SI},
    },
}
ENVIRONMENT_SOURCE = _paper("Tables S1 (P) and S2 (Si), ML-FF")
TABLE5_SOURCE = _paper("Table 5, ML-FF")

#: Li10SiP2S12 at room temperature, the paper's Table 1 (Å, Å^3).
LATTICE_REFERENCES: dict[str, tuple[Reference, ...]] = {
    "a_angstrom": (Reference(8.695, "paper", _paper("Table 1, 300 K")),
                   Reference(8.651, "experiment", WHITELEY_2014)),
    "c_angstrom": (Reference(12.5104, "paper", _paper("Table 1, 300 K")),
                   Reference(12.5095, "experiment", WHITELEY_2014)),
    "volume_angstrom3": (Reference(945.9, "paper", _paper("Table 1, 300 K")),
                         Reference(936.3, "experiment", WHITELEY_2014)),
}


def glass_key(composition: str) -> str | None:
    """The paper's glass that ``composition`` builds (same formula unit), or None.

    ``66.7Li2S-33.3P2S5`` and ``67Li2S-33P2S5`` both build Li4P2S7 and match the paper's
    67Li2S-33P2S5.
    """
    from thioglass.composition import parse_composition

    unit = parse_composition(composition).formula_unit()
    for label in GLASS_REFERENCES:
        if parse_composition(label).formula_unit() == unit:
            return label
    return None


def references_for(composition: str) -> dict[str, tuple[Reference, ...]]:
    """Every reference value for ``composition`` by results key (empty when the paper has none)."""
    key = glass_key(composition)
    return GLASS_REFERENCES.get(key, {}) if key else {}
