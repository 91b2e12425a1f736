"""Composition parsing and exact stoichiometry."""

from __future__ import annotations

import math

import pytest

from thioglass.composition import Composition, parse_composition
from thioglass.elements import COMPONENTS
from thioglass.errors import ThioglassError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("75Li2S-25P2S5", {"Li2S": 75, "SiS2": 0, "P2S5": 25}),
        ("50Li2S-50SiS2", {"Li2S": 50, "SiS2": 50, "P2S5": 0}),
        ("60Li2S-32SiS2-8P2S5", {"Li2S": 60, "SiS2": 32, "P2S5": 8}),
        ("66.7Li2S-33.3P2S5", {"Li2S": 66.7, "SiS2": 0, "P2S5": 33.3}),
        ("25P2S5-75Li2S", {"Li2S": 75, "SiS2": 0, "P2S5": 25}),
        ("8P2S5 - 60 Li2S - 32SiS2", {"Li2S": 60, "SiS2": 32, "P2S5": 8}),
        ("75li2s-25p2s5", {"Li2S": 75, "SiS2": 0, "P2S5": 25}),
        ("Li2S", {"Li2S": 100, "SiS2": 0, "P2S5": 0}),
        ("100SiS2", {"Li2S": 0, "SiS2": 100, "P2S5": 0}),
    ],
)
def test_parse_examples(text: str, expected: dict[str, float]) -> None:
    comp = parse_composition(text)
    for name, value in expected.items():
        assert comp.mol_percent[name] == pytest.approx(value, abs=1e-9)


def test_label_is_canonical_and_parses_back() -> None:
    for text in ("8P2S5-60Li2S-32SiS2", "25P2S5-75Li2S", "66.7Li2S-33.3P2S5", "Li2S"):
        comp = parse_composition(text)
        assert parse_composition(comp.label) == comp
    assert parse_composition("25P2S5-75Li2S").label == "75Li2S-25P2S5"
    assert parse_composition("8P2S5-60Li2S-32SiS2").label == "60Li2S-32SiS2-8P2S5"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", ["empty"]),
        ("   ", ["empty"]),
        ("75Li2S-25P2S6", ["unknown component", "P2S6", "Li2S, SiS2, P2S5"]),
        ("75Li2S-25GeS2", ["unknown component", "GeS2"]),
        ("70Li2S-20P2S5", ["sum to 90", "100"]),
        ("75Li2S-30P2S5", ["sum to 105"]),
        ("0.75Li2S-0.25P2S5", ["sum to 1", "mol %"]),
        ("75Li2S--25P2S5", ["negative", "-25", "P2S5"]),
        ("-25P2S5-125Li2S", ["negative"]),
        ("100Li2S-0P2S5", ["0", "leave the component out"]),
        ("Li2S-P2S5", ["no amount"]),
        ("75Li2S-", ["empty component"]),
        ("75Li2S-25P2S5-", ["empty component"]),
        ("50Li2S-25P2S5-25Li2S", ["twice", "Li2S"]),
        ("75Li2S/25P2S5", ["cannot read"]),
        ("75-25", ["cannot read"]),
        ("hello world", ["unknown component"]),
        ("75%Li2S-25%P2S5", ["cannot read"]),
    ],
)
def test_bad_input_gives_one_line_error_that_says_what_is_wrong(text: str, words: list[str]) -> None:
    with pytest.raises(ThioglassError) as err:
        parse_composition(text)
    message = str(err.value)
    assert "\n" not in message
    for word in words:
        assert word in message


def test_non_text_is_rejected() -> None:
    with pytest.raises(ThioglassError, match="text"):
        parse_composition(75)  # type: ignore[arg-type]


def test_composition_rejects_bad_direct_construction() -> None:
    with pytest.raises(ThioglassError, match="sum to 90"):
        Composition(li2s=60, p2s5=30)
    with pytest.raises(ThioglassError, match="non-negative"):
        Composition(li2s=110, p2s5=-10)


def _atoms_from_components(units: dict[str, int]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for name, n in units.items():
        for el, k in COMPONENTS[name].items():
            counts[el] = counts.get(el, 0) + n * k
    return {el: n for el, n in counts.items() if n}


@pytest.mark.parametrize(
    ("text", "unit"),
    [
        ("75Li2S-25P2S5", {"Li2S": 3, "SiS2": 0, "P2S5": 1}),
        ("70Li2S-30P2S5", {"Li2S": 7, "SiS2": 0, "P2S5": 3}),
        ("66.7Li2S-33.3P2S5", {"Li2S": 2, "SiS2": 0, "P2S5": 1}),
        ("67Li2S-33P2S5", {"Li2S": 2, "SiS2": 0, "P2S5": 1}),
        ("50Li2S-50SiS2", {"Li2S": 1, "SiS2": 1, "P2S5": 0}),
        ("60Li2S-32SiS2-8P2S5", {"Li2S": 15, "SiS2": 8, "P2S5": 2}),
    ],
)
def test_formula_unit_is_the_smallest_ratio_within_tolerance(text: str, unit: dict[str, int]) -> None:
    comp = parse_composition(text)
    assert comp.formula_unit() == unit
    achieved = comp.achieved_mol_percent()
    for name in COMPONENTS:
        assert abs(achieved[name] - comp.mol_percent[name]) <= 0.5
    # a tight tolerance keeps 67:33 as it is written
    if text == "67Li2S-33P2S5":
        tight = comp.formula_unit(0.1)
        assert tight != unit and abs(100 * tight["Li2S"] / sum(tight.values()) - 67) <= 0.1
        assert comp.formula_unit(0.01) == {"Li2S": 67, "SiS2": 0, "P2S5": 33}


@pytest.mark.parametrize("text", ["75Li2S-25P2S5", "70Li2S-30P2S5", "66.7Li2S-33.3P2S5", "60Li2S-32SiS2-8P2S5"])
@pytest.mark.parametrize("n_atoms", [100, 333, 1000, 4999])
def test_atom_counts_are_exact_and_closest_to_n(text: str, n_atoms: int) -> None:
    comp = parse_composition(text)
    counts = comp.atom_counts(n_atoms)
    per_unit = _atoms_from_components(comp.formula_unit())
    size = sum(per_unit.values())
    repeats = sum(counts.values()) // size
    # exact: an integer number of formula units, nothing more
    assert counts == {el: n * repeats for el, n in per_unit.items()}
    # closest: no other whole number of formula units is nearer to n_atoms
    best = min(range(1, n_atoms // size + 3), key=lambda r: abs(r * size - n_atoms))
    assert abs(repeats * size - n_atoms) == abs(best * size - n_atoms)
    # and the element ratios are those of the achieved mol %
    fractions = parse_composition(
        "-".join(f"{v}{k}" for k, v in comp.achieved_mol_percent().items() if v > 0)
    ).element_fractions
    total = sum(counts.values())
    for el, n in counts.items():
        assert n / total == pytest.approx(fractions[el], rel=1e-9)


def test_element_fractions_of_li3ps4() -> None:
    fractions = parse_composition("75Li2S-25P2S5").element_fractions
    assert fractions == pytest.approx({"Li": 6 / 16, "Si": 0.0, "P": 2 / 16, "S": 8 / 16})
    assert parse_composition("75Li2S-25P2S5").elements == ("Li", "P", "S")
    assert math.isclose(sum(fractions.values()), 1.0)


def test_too_few_atoms_is_rejected_with_the_minimum() -> None:
    with pytest.raises(ThioglassError, match="at least 83"):
        parse_composition("60Li2S-32SiS2-8P2S5").atom_counts(50)
    with pytest.raises(ThioglassError, match="too few"):
        parse_composition("75Li2S-25P2S5").atom_counts(0)
