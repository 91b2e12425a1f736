"""The one preset check shared by every preset table (md, run, validate-model, domain)."""

from __future__ import annotations

import pytest

from thioglass.errors import ThioglassError


def test_each_table_names_the_choices_and_refuses_unknown_fields() -> None:
    from thioglass.md.protocol import preset as quench_preset
    from thioglass.mlff.validation.settings import preset as validation_preset
    from thioglass.workflow.domain import domain_preset

    for make, what, name in ((quench_preset, "preset", "smoke"), (validation_preset, "validation preset", "quick"),
                             (domain_preset, "domain preset", "smoke")):
        with pytest.raises(ThioglassError, match=f"unknown {what} 'turbo'; use one of .*{name}"):
            make("turbo")
        with pytest.raises(ThioglassError, match=f"unknown {what} setting\\(s\\) warp_factor; known: "):
            make(name, warp_factor=9)


def test_none_keeps_the_preset_value_except_where_none_is_a_setting() -> None:
    from thioglass.md.protocol import PRESETS, preset as quench_preset
    from thioglass.mlff.validation.settings import preset as validation_preset

    assert quench_preset("quick", n_atoms=None).n_atoms == PRESETS["quick"].n_atoms
    assert quench_preset("quick", n_atoms=500).n_atoms == 500
    assert validation_preset("quick", elastic_crystals=None).elastic_crystals is None
