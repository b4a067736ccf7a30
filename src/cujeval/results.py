"""Moved to :mod:`cujeval.spec.results`: this name forwards there for one release."""

from cujeval._util.moved import forward

forward(__name__, "cujeval.spec.results")
