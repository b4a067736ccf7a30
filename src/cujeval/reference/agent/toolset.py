"""The reference agent's tools as a Python tool set, for an ``openai`` target's agent loop
(``agent: {tools: cujeval.reference.agent.toolset:for_case}``): a fresh world per case, the
same tools and schemas the service uses, no policy (the model is the policy)."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from cujeval.reference.agent.kb import KnowledgeBase
from cujeval.reference.agent.store import World
from cujeval.reference.agent.tools import TOOLS, ToolError


@cache
def knowledge_base() -> KnowledgeBase:
    """The help-centre articles, read once per process."""
    from cujeval.reference.corpus import default_corpus_path, load_articles

    return KnowledgeBase(load_articles(default_corpus_path()))


class ReferenceTools:
    """One world and the tools over it."""

    def __init__(self, world_id: str) -> None:
        self.world = World.fresh(world_id)
        self.kb = knowledge_base()
        self.schemas = [t.schema() for t in TOOLS.values()]

    def call(self, name: str, arguments: Mapping[str, Any]) -> dict[str, Any]:
        tool = TOOLS.get(name)
        if tool is None:
            raise ToolError(f"no tool {name!r}")
        return tool.run(self.world, self.kb, arguments)

    def state(self) -> dict[str, Any]:
        return self.world.state()


def for_case(case: Any) -> ReferenceTools:
    """A fresh tool set for one case (``case`` is a GoldenCase; its id names the world)."""
    return ReferenceTools(str(getattr(case, "id", "world")))
