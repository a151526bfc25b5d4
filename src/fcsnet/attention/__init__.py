"""Batched attention classifiers over variant tokens.

- :mod:`fcsnet.attention.model`: the transformer classifier and its config.
- :mod:`fcsnet.attention.batched`: training M independent models at once.
- :mod:`fcsnet.attention.interactions`: ranking pairs and order-3 groups of
  variants inside each community.
- :mod:`fcsnet.attention.fitness`: the ``attention`` GA fitness evaluator.
"""
