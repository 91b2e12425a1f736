"""Read composition text such as ``75Li2S-25P2S5`` or ``60Li2S-32SiS2-8P2S5``."""

from __future__ import annotations

import re

from thioglass.composition.composition import SUM_TOLERANCE, Composition
from thioglass.elements import COMPONENTS
from thioglass.errors import ThioglassError

_AMOUNT = r"\d+(?:\.\d*)?|\.\d+"
_PART = re.compile(rf"(?P<amount>{_AMOUNT})?(?P<name>[A-Za-z][A-Za-z0-9]*)")
_NEGATIVE = re.compile(rf"(?:^|-)-(?P<amount>{_AMOUNT})(?P<name>[A-Za-z][A-Za-z0-9]*)")
_EXAMPLE = "e.g. 75Li2S-25P2S5 or 60Li2S-32SiS2-8P2S5"
_KNOWN = ", ".join(COMPONENTS)


def parse_composition(text: str) -> Composition:
    """Parse mol % of Li2S, SiS2 and P2S5 written as ``<amount><component>`` joined by ``-``.

    Components may come in any order, spaces are ignored, component names are matched
    without regard to case, and a single component without an amount means 100 mol %.

    Raises
    ------
    ThioglassError
        For unknown, repeated, empty, zero or negative components, amounts that do not sum
        to 100, and anything else that cannot be read; the message says how to fix it.
    """
    if not isinstance(text, str):
        raise ThioglassError(f"composition must be text such as 75Li2S-25P2S5, got {type(text).__name__}")
    compact = "".join(text.split())
    if not compact:
        raise ThioglassError(f"empty composition; write one, {_EXAMPLE}")
    negative = _NEGATIVE.search(compact)
    if negative:
        raise ThioglassError(
            f"negative amount -{negative['amount']} of {negative['name']} in '{text}'; "
            f"amounts are positive mol %, {_EXAMPLE}"
        )
    parts = compact.split("-")
    amounts: dict[str, float] = {}
    for part in parts:
        name, amount = _read_part(part, text, single=len(parts) == 1)
        if name in amounts:
            raise ThioglassError(f"component {name} appears twice in '{text}'; give each component once")
        amounts[name] = amount
    _check_sum(amounts, text)
    return Composition(*(amounts.get(name, 0.0) for name in COMPONENTS))


def _read_part(part: str, text: str, *, single: bool) -> tuple[str, float]:
    if not part:
        raise ThioglassError(f"empty component in '{text}'; separate components by a single '-', {_EXAMPLE}")
    match = _PART.fullmatch(part)
    if match is None:
        raise ThioglassError(
            f"cannot read '{part}' in '{text}'; write the mol % before each component, {_EXAMPLE}"
        )
    name = _canonical_name(match["name"], text)
    if match["amount"] is None:
        if single:
            return name, 100.0
        raise ThioglassError(f"component {name} has no amount in '{text}'; give mol % before it, {_EXAMPLE}")
    amount = float(match["amount"])
    if amount == 0:
        raise ThioglassError(f"amount of {name} is 0 in '{text}'; leave the component out instead")
    return name, amount


def _canonical_name(name: str, text: str) -> str:
    for known in COMPONENTS:
        if name.lower() == known.lower():
            return known
    raise ThioglassError(f"unknown component '{name}' in '{text}'; known components: {_KNOWN}")


def _check_sum(amounts: dict[str, float], text: str) -> None:
    total = sum(amounts.values())
    if abs(total - 100.0) <= SUM_TOLERANCE:
        return
    hint = " (fractions? give mol %, e.g. 75Li2S-25P2S5 not 0.75Li2S-0.25P2S5)" if abs(total - 1) < 0.01 else ""
    raise ThioglassError(f"amounts in '{text}' sum to {total:g}, not 100; mol % must add up to 100{hint}")
