"""Moved: ``run`` and ``run_sync`` are :func:`cujeval.evaluate` and :func:`cujeval.evaluate_sync`
(cujeval.pipeline); the run's checks are cujeval.engine.plan, one case's path
cujeval.engine.case. This name forwards there for one release."""

from cujeval._util.moved import forward_names

__getattr__ = forward_names(
    __name__,
    ("cujeval.pipeline", "cujeval.engine.plan", "cujeval.engine.case", "cujeval.engine.run"),
)
