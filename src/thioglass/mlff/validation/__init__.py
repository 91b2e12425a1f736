"""``thioglass validate-model``: an independent physical validation of a model against its reference
(reference-driven held-out frames, crystals at the reference's minimum, bonding motifs in MD)."""
