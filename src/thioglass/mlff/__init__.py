"""The force field: DeePMD datasets, training (paper architecture by default), evaluation, deviation."""
