"""Every setting of ``thioglass validate-model`` in one frozen dataclass, with the quick and full presets."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from thioglass.errors import ThioglassError

GLASS_FAMILIES = ("75Li2S-25P2S5", "50Li2S-50SiS2", "60Li2S-32SiS2-8P2S5")


@dataclass(frozen=True)
class ValidationSettings:
    """What the three checks run and what they accept. Times in ps, temperatures in K.

    Crystal lists of None mean every bundled crystal whose elements the model knows (check 3: every
    crystal of :data:`~thioglass.analysis.motifs.CRYSTAL_MOTIFS`).

    Reference-driven held-out frames (check 1)
        ``heldout_crystals``, ``glasses``: systems; ``heldout_temperatures_k``: one NVT run each, the last
        being the melt (glasses: the melt runs first from the packed cell, the other temperatures start
        from its last frame); ``reference_md_ps`` per run, a labelled frame every ``dump_every_ps``;
        ``glass_atoms``: the smallest glass cell (grown until wider than twice the cutoff).
    Crystals at the reference's minimum (check 2)
        ``minimum_crystals``; full relaxations to ``relax_fmax_ev_per_angstrom`` in ``relax_max_steps``;
        a scan of ``eos_points`` volumes over ``±eos_volume_range`` of the reference's cell (positions
        relaxed, shape kept) for the bulk modulus (from E(V) and from P(V)) and the smoothness check; the static elastic tensor
        of ``elastic_crystals`` at ``elastic_strain``.
    Bonding motifs (check 3)
        ``motif_crystals`` at ``motif_temperatures_k``: the model's NVT run of ``model_md_ps`` beside the
        reference's of ``reference_md_ps``; counts over the last ``motif_last_fraction`` of the frames
        (the model's written every ``model_dump_every_ps``).
    Targets
        The issue's: energy and force RMSE per family, lattice lengths within ``lattice_tolerance_percent``,
        bulk moduli within ``bulk_modulus_tolerance_percent``, P(V) monotonic and without kinks, no motif lost
        (model below ``1 - motif_tolerance`` of the reference). Ours: the density within
        ``density_tolerance_percent`` (three times the lattice's, as 1 % on every length allows); the shear
        modulus within ``shear_modulus_tolerance_percent``; a kink is a relative slope change above
        ``kink_tolerance`` (see :func:`~thioglass.analysis.eos.pressure_smoothness`) or above
        ``reference_kink_factor`` times the reference's own, whichever is larger: the soft molecular P4S10 and
        the chains of SiS2 give rough P(V) curves with the reference itself, and what the reference does is
        not held against the model.
    ``cutoff_angstrom``
        None reads rcut from a DeePMD model; other potentials (ASE calculators) use ``fallback_cutoff_angstrom``.
    """

    heldout_crystals: tuple[str, ...] | None = None
    glasses: tuple[str, ...] = GLASS_FAMILIES
    heldout_temperatures_k: tuple[float, ...] = (300.0, 650.0, 1700.0)
    reference_md_ps: float = 0.3
    dump_every_ps: float = 0.01
    glass_atoms: int = 100
    minimum_crystals: tuple[str, ...] | None = None
    relax_fmax_ev_per_angstrom: float = 0.02
    relax_max_steps: int = 400
    eos_points: int = 9
    eos_volume_range: float = 0.06
    elastic_crystals: tuple[str, ...] | None = None
    elastic_strain: float = 0.01
    motif_crystals: tuple[str, ...] | None = None
    motif_temperatures_k: tuple[float, ...] = (300.0, 650.0)
    model_md_ps: float = 3.0
    model_dump_every_ps: float = 0.05
    motif_last_fraction: float = 0.3
    motif_tolerance: float = 0.25
    timestep_fs: float = 1.0
    tdamp_ps: float = 0.1
    seed: int = 1
    energy_target_mev_per_atom: float = 7.6
    force_target_ev_per_angstrom: float = 0.17
    lattice_tolerance_percent: float = 1.0
    density_tolerance_percent: float = 3.0
    bulk_modulus_tolerance_percent: float = 10.0
    shear_modulus_tolerance_percent: float = 15.0
    kink_tolerance: float = 0.5
    reference_kink_factor: float = 1.5
    cutoff_angstrom: float | None = None
    fallback_cutoff_angstrom: float = 6.0

    def __post_init__(self) -> None:
        if min(self.reference_md_ps, self.model_md_ps, self.dump_every_ps, self.model_dump_every_ps) <= 0:
            raise ThioglassError("MD times and dump intervals must be positive")
        if self.eos_points < 5 or not 0 < self.eos_volume_range < 0.3:
            raise ThioglassError("the volume scan needs at least 5 points and a range in (0, 0.3)")
        if not 0 < self.motif_tolerance < 1 or not 0 < self.motif_last_fraction <= 1:
            raise ThioglassError("motif_tolerance must be in (0, 1) and motif_last_fraction in (0, 1]")
        if not self.heldout_temperatures_k or min(self.heldout_temperatures_k + self.motif_temperatures_k) <= 0:
            raise ThioglassError("temperatures must be positive, with at least one held-out temperature")


PRESETS: dict[str, ValidationSettings] = {
    # The plan: every crystal and glass family, 300 K, 650 K and a melt, ±6 % volume, a few ps
    # of model MD per motif. Hours of reference time on 2 cores; it resumes where it stopped.
    "full": ValidationSettings(),
    # Minutes on 2 cores: the crystals where the shipped model is known to fail (Li2S EOS, Li4P2S6 P-P
    # bond, SiS2 and P4S10 densities), one glass family, short reference runs.
    "quick": ValidationSettings(heldout_crystals=("Li2S", "Li4P2S6"), glasses=("75Li2S-25P2S5",),
                                reference_md_ps=0.03, glass_atoms=64,
                                minimum_crystals=("Li2S", "SiS2", "P2S5", "Li4P2S6"), eos_points=7,
                                relax_max_steps=300, elastic_crystals=("Li2S",),
                                motif_crystals=("Li4P2S6", "beta-Li3PS4"), motif_temperatures_k=(300.0,),
                                model_md_ps=1.0),
}


def preset(name: str, **overrides: Any) -> ValidationSettings:
    """A named preset with fields overridden (``preset("quick", model_md_ps=2.0)``)."""
    from thioglass.checks import pick_preset

    return pick_preset(PRESETS, name, overrides, what="validation preset", none_keeps=False)


def parse_overrides(items: list[str]) -> dict[str, Any]:
    """``["model_md_ps=2", "heldout_crystals=Li2S,SiS2", "elastic_crystals=none"]`` as typed values."""
    annotations = {f.name: str(f.type) for f in fields(ValidationSettings)}
    out: dict[str, Any] = {}
    for item in items:
        name, sep, text = (part.strip() for part in item.partition("="))
        if not sep or name not in annotations:
            raise ThioglassError(f"cannot read the setting '{item}'; write name=value with a name from "
                                 f"{', '.join(annotations)}")
        out[name] = _coerce(text, annotations[name], name)
    return out


def _coerce(text: str, annotation: str, name: str) -> Any:
    try:
        if text.lower() == "none" and "None" in annotation:
            return None
        if annotation.startswith("tuple[str"):
            return tuple(x.strip() for x in text.split(",") if x.strip())
        if annotation.startswith("tuple[float"):
            return tuple(float(x) for x in text.replace(",", " ").split())
        if annotation.startswith("int"):
            return int(text)
        return float(text)
    except ValueError:
        raise ThioglassError(f"cannot read '{text}' for {name} ({annotation})") from None
