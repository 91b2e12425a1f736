"""The paper's numbers and the experiments it cites (:mod:`.values`), and our results beside them
(:mod:`.compare`).

Data and pure functions only: the workflow fills ``results.json`` with :mod:`.compare`, and the
report renders the same rows, so neither has to import the other.
"""
