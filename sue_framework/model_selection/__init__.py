"""Choosing by held-out pairs: the paper protocol's splits (`splits`), the ranking rule every
score uses (`ranking`), the selection rules (`selection`), the engine that cross-validates
whole methods on folds of the pairs (`folds`) and `CVSelect`, the estimator that chooses with
it (`cv_select`).

May import the foundation, the runtime, the core and storage; never components, methods,
evaluation or the command line (methods are built by registered name).
"""
