"""Moved to :mod:`cujeval.core.slo`: this name forwards there for one release."""

from cujeval._util.moved import forward

forward(__name__, "cujeval.core.slo")
