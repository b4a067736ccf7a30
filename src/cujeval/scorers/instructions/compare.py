"""IFEval's count comparison, shared by every "relation" kwarg."""

from __future__ import annotations


def holds(count: int, relation: str, threshold: int) -> bool:
    """``"less than"``: count < threshold; ``"at least"``: count >= threshold."""
    if relation == "less than":
        return count < threshold
    return count >= threshold
