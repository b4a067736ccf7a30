"""ragas 0.4 components over cujeval's judge client and offline embeddings.

The LLM is ragas's ``InstructorLLM`` over an instructor client whose ``create`` is a
:class:`JudgeView`, so every call ragas makes goes through cujeval's bounds, retries, cache and
ledger. When instructor has parsed an answer, the completion it came from is committed to the
cache; answers that were cut or did not parse never are. Instructor runs in
``Mode.JSON_SCHEMA`` (the schema is sent with the request, which llama.cpp turns into a
grammar; small models fail plain JSON mode) except against api.openai.com, which rejects that
request shape and gets ``Mode.JSON``. Embeddings are the
offline MiniLM of :mod:`cujeval.models.embeddings`: no hub, no OpenAI embeddings.

ragas is imported only here, inside functions, with its telemetry switched off first.
"""

from __future__ import annotations

import asyncio
import os
from functools import lru_cache
from typing import Any

from cujeval.scorers.judges.client import JudgeView
from cujeval.spec.judge import JudgeConfig

SCHEMA_ATTEMPTS = 2


def import_ragas() -> None:
    """Import ragas with telemetry off (it would otherwise try the network)."""
    os.environ["RAGAS_DO_NOT_TRACK"] = "true"
    from ragas import _analytics

    _analytics.do_not_track.cache_clear()  # in case ragas was imported before, tracking on


def instructor_mode(base_url: str) -> Any:
    """JSON_SCHEMA for any OpenAI-compatible server, plain JSON for api.openai.com."""
    import instructor

    if "api.openai.com" in base_url:
        return instructor.Mode.JSON
    return instructor.Mode.JSON_SCHEMA


def judge_llm(view: JudgeView, config: JudgeConfig) -> Any:
    """A ragas LLM for one judgement; ``.records`` holds every parsed answer, in order."""
    import_ragas()
    import instructor
    from instructor.retry import InstructorRetryException  # type: ignore[attr-defined]
    from ragas.llms.base import InstructorModelArgs
    from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt

    mode = instructor_mode(config.base_url)
    patched = instructor.AsyncInstructor(
        client=None,
        create=instructor.patch(create=view.create, mode=mode),
        mode=mode,
    )
    schema_retries = AsyncRetrying(
        stop=stop_after_attempt(SCHEMA_ATTEMPTS),
        retry=retry_if_exception_type(InstructorRetryException),
        reraise=True,
    )
    args = InstructorModelArgs(
        temperature=config.temperature, top_p=1.0, max_tokens=config.max_tokens
    )
    llm = _recording_llm_class()(
        client=patched,
        model=config.model,
        provider="openai",
        model_args=args,
        max_retries=schema_retries,
    )
    llm.view = view
    return llm


@lru_cache(maxsize=1)
def _recording_llm_class() -> type[Any]:
    from pydantic import BaseModel
    from ragas.llms.base import InstructorLLM

    class RecordingLLM(InstructorLLM):  # type: ignore[misc]
        """InstructorLLM that keeps each structured answer (claims, verdicts) for metadata
        and commits the completion each one was parsed from to the judge's cache."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.records: list[BaseModel] = []
            self.view: JudgeView | None = None

        async def agenerate(self, prompt: str, response_model: type[Any]) -> Any:
            result = await super().agenerate(prompt, response_model)
            self.records.append(result)
            raw = getattr(result, "_raw_response", None)  # set by instructor on a parsed answer
            if self.view is not None and raw is not None:
                self.view.commit(raw)
            return result

    return RecordingLLM


@lru_cache(maxsize=1)
def minilm_embeddings() -> Any:
    """ragas's modern embeddings interface over the offline MiniLM (one per process)."""
    import_ragas()
    from ragas.embeddings.base import BaseRagasEmbedding

    from cujeval.models import embeddings

    class MiniLMEmbeddings(BaseRagasEmbedding):  # type: ignore[misc]
        """all-MiniLM-L6-v2 from site-packages; inference off the event loop."""

        def embed_text(self, text: str, **kwargs: Any) -> list[float]:
            return [float(x) for x in embeddings.encode([text])[0]]

        def embed_texts(self, texts: list[str], **kwargs: Any) -> list[list[float]]:
            return [[float(x) for x in row] for row in embeddings.encode(list(texts))]

        async def aembed_text(self, text: str, **kwargs: Any) -> list[float]:
            return await asyncio.to_thread(self.embed_text, text)

        async def aembed_texts(self, texts: list[str], **kwargs: Any) -> list[list[float]]:
            return await asyncio.to_thread(self.embed_texts, texts)

    return MiniLMEmbeddings()
