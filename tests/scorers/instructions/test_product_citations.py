"""product:cites_sources: citations must exist and point at returned contexts."""

from __future__ import annotations

from collections.abc import Callable

from cujeval.scorers.instructions.product_citations import citations, unresolved
from cujeval.spec.records import Context, Observation

Passes = Callable[..., bool]

OBS = Observation(
    answer="",
    contexts=(Context(id="kb-12", text="a"), Context(id="kb-7", text="b"), Context(text="c")),
)


def test_positions_and_ids_resolve(passes: Passes) -> None:
    assert passes("product:cites_sources", "Refunds take 5 days [1][3].", obs=OBS)
    assert passes("product:cites_sources", "See [KB-7] and [kb-12, 2].", obs=OBS)
    assert passes("product:cites_sources", "Both apply [1-3].", obs=OBS)
    assert passes("cites_sources", "Footnote style[^2].", obs=OBS)


def test_dangling_citation_fails(passes: Passes) -> None:
    assert not passes("product:cites_sources", "True [4].", obs=OBS)
    assert not passes("product:cites_sources", "True [1] and [kb-99].", obs=OBS)


def test_no_citation_fails(passes: Passes) -> None:
    assert not passes("product:cites_sources", "Refunds take 5 days.", obs=OBS)


def test_no_contexts_returned_fails(passes: Passes) -> None:
    assert not passes("product:cites_sources", "Refunds take 5 days [1].", obs=Observation())
    assert not passes("product:cites_sources", "Refunds take 5 days [1].")


def test_links_and_prose_brackets_are_not_citations() -> None:
    text = "Read [the guide](https://x.test) [see above] [2]."
    assert [c.item for c in citations(text)] == ["2"]
    assert unresolved(text, OBS) == (1, [])
