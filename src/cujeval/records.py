"""Moved to :mod:`cujeval.spec.records`: this name forwards there for one release."""

from cujeval._util.moved import forward

forward(__name__, "cujeval.spec.records")
