"""Moved to :mod:`cujeval.engine.executors`: this name forwards there for one release."""

from cujeval._util.moved import forward

forward(__name__, "cujeval.engine.executors")
