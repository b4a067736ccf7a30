"""The faithfulness / hallucination scorer: states, options, and real labelled answers."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from cujeval.errors import InputError
from cujeval.grounding.calibrate import evaluate_threshold
from cujeval.grounding.labelled import load_ragtruth
from cujeval.scorers import base
from cujeval.scorers.base import Scores
from cujeval.spec.records import Context, GoldenCase, Observation

DATA = Path(__file__).parents[1] / "data"
PASSAGES = (
    Context(id="kb-1", text="The warranty lasts 2 years. It covers battery faults."),
    Context(id="kb-2", text="Returns are accepted within 30 days with a receipt."),
)
CASE = GoldenCase(id="c1", input="How long is the warranty?")


def score(obs: Observation, case: GoldenCase = CASE, **options: object) -> Scores:
    return asyncio.run(base.create("faithfulness", options)(case, obs))


def test_registered_under_both_names_with_one_computation() -> None:
    assert base.available()["faithfulness"].factory is base.available()["hallucination"].factory
    obs = Observation(answer="The warranty lasts 2 years.", contexts=PASSAGES)
    via_faithfulness = score(obs)
    via_hallucination = asyncio.run(base.create("hallucination")(CASE, obs))
    assert set(via_faithfulness) == {"faithfulness", "hallucination"}
    assert via_faithfulness == via_hallucination


@pytest.mark.parametrize(
    ("obs", "reason"),
    [
        (Observation(status="timeout", error="took too long", contexts=PASSAGES), "target error"),
        (Observation(answer="   ", contexts=PASSAGES), "no answer"),
        (Observation(answer="It lasts 2 years.", contexts=None), "no contexts"),
        (Observation(answer="It lasts 2 years.", contexts=()), "no contexts"),
        (Observation(answer="It lasts 2 years.", contexts=(Context(text=" "),)), "no contexts"),
    ],
)
def test_not_scorable_states(obs: Observation, reason: str) -> None:
    out = score(obs)
    for name in ("faithfulness", "hallucination"):
        assert not out[name].scorable
        assert reason in out[name].explanation


def test_supported_answer_metadata() -> None:
    out = score(Observation(answer="The warranty lasts 2 years.", contexts=PASSAGES))
    faith, hallu = out["faithfulness"], out["hallucination"]
    assert faith.value == 1.0
    assert hallu.value is False
    (claim,) = faith.metadata["claims"]
    assert claim["text"] == "The warranty lasts 2 years."
    assert claim["supported"] is True
    assert claim["nearest_context_id"] == "kb-1"
    assert 0.5 < claim["support_probability"] <= 1.0
    assert hallu.metadata["score"] == pytest.approx(1 - claim["support_probability"])
    assert hallu.metadata["threshold"] == faith.metadata["threshold"]


def test_unsupported_claims_are_explained_with_their_nearest_passage() -> None:
    answer = (
        "The warranty lasts 5 years. It also covers accidental water damage, screen cracks "
        "and theft anywhere in Europe."
    )
    out = score(Observation(answer=answer, contexts=PASSAGES))
    faith, hallu = out["faithfulness"], out["hallucination"]
    assert faith.value == 0.0
    assert hallu.value is True
    assert "0 of 2 checkable claims supported" in faith.explanation
    assert "nearest kb-1" in faith.explanation
    assert hallu.metadata["unsupported_claims"] == 2


def test_contexts_without_ids_are_named_by_position() -> None:
    contexts = (Context(text="Returns are accepted within 30 days with a receipt."),)
    out = score(Observation(answer="Returns take 30 days with a receipt.", contexts=contexts))
    assert out["faithfulness"].metadata["claims"][0]["nearest_context_id"] == "#1"


@pytest.mark.parametrize(
    "options",
    [{"method": "gpt"}, {"threshold": 1.5}, {"threshold": "high"}, {"threshold": True}, {"k": 1}],
)
def test_bad_options_are_input_errors(options: dict[str, object]) -> None:
    with pytest.raises(InputError, match="faithfulness"):
        base.create("faithfulness", options)


def test_separates_real_hallucinated_answers_on_a_ragtruth_slice() -> None:
    rows = load_ragtruth(DATA / "ragtruth_slice.jsonl")
    scorer = base.create("hallucination")

    async def run_all() -> list[Scores]:
        return await asyncio.gather(
            *(
                scorer(
                    GoldenCase(id=r.id, input=r.question),
                    Observation(
                        answer=r.answer,
                        contexts=tuple(
                            Context(id=str(i), text=t) for i, t in enumerate(r.contexts)
                        ),
                    ),
                )
                for r in rows
            )
        )

    results = asyncio.run(run_all())
    decisions = [bool(s["hallucination"].value) for s in results]
    labels = [r.hallucinated for r in rows]
    quality = evaluate_threshold([float(d) for d in decisions], labels, 0.5)
    assert quality.balanced_accuracy >= 0.65, quality
    faithfulness = [s["faithfulness"].value for s in results]
    mean_bad = sum(f for f, y in zip(faithfulness, labels, strict=True) if y) / 20  # type: ignore[misc]
    mean_good = sum(f for f, y in zip(faithfulness, labels, strict=True) if not y) / 20  # type: ignore[misc]
    assert mean_good > mean_bad


def test_id_citations_are_not_claimed_numbers() -> None:
    """``[kb-006]`` cites a passage; its digits are not a number the answer states."""
    from cujeval.grounding import judge

    context = ["Plus costs $8 per member per month when billed annually."]
    cited = judge("Plus costs $8 per member per month billed annually [kb-006].", context, "price?")
    wrong = judge(
        "Plus costs $12 per member per month billed annually [kb-006].", context, "price?"
    )
    assert not cited.hallucinated and wrong.hallucinated


def test_concurrent_cases_are_judged_one_at_a_time_off_the_default_executor(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import importlib
    import threading

    judging = importlib.import_module("cujeval.grounding.judge")  # the package re-exports judge()

    rows = load_ragtruth(DATA / "ragtruth_slice.jsonl")[:8]
    pairs = [
        (
            GoldenCase(id=r.id, input=r.question),
            Observation(answer=r.answer, contexts=tuple(Context(text=t) for t in r.contexts)),
        )
        for r in rows
    ]
    real = judging.judge
    active, most, threads = 0, 0, set()
    guard = threading.Lock()

    def counting(*args: object, **kwargs: object) -> object:
        nonlocal active, most
        with guard:
            active += 1
            most = max(most, active)
            threads.add(threading.current_thread().name)
        try:
            return real(*args, **kwargs)  # type: ignore[arg-type]
        finally:
            with guard:
                active -= 1

    monkeypatch.setattr(judging, "judge", counting)
    scorer = base.create("faithfulness")

    async def together() -> list[Scores]:
        return await asyncio.gather(*(scorer(c, o) for c, o in pairs))

    at_once = asyncio.run(together())
    one_by_one = [asyncio.run(scorer(c, o)) for c, o in pairs]
    assert at_once == one_by_one
    assert most == 1
    assert all(name.startswith("cujeval-judge") for name in threads)
