"""Genetic-algorithm feature selection over variant subsets.

``operators`` holds the variation and selection operators, ``fitness`` the
cross-validated evaluators, ``search`` the :class:`GeneticSelector`
estimator and ``runs`` the repeated, independently seeded runs of the
workflow.
"""
