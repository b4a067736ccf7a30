"""The instruction_following scorer: SLIs produced, unscorable states, option validation."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from cujeval.errors import InputError
from cujeval.scorers.base import Scores, available, create
from cujeval.spec.records import Context, GoldenCase, Observation

CONTEXTS = (Context(id="faq-1", text="Refunds take 5 days."), Context(id="faq-2", text="..."))


def score(case: GoldenCase, obs: Observation, **options: Any) -> Scores:
    return asyncio.run(create("instruction_following", options)(case, obs))


def make_case(*instructions: dict[str, Any]) -> GoldenCase:
    return GoldenCase.model_validate(
        {"id": "c1", "input": "How long do refunds take?", "instructions": list(instructions)}
    )


def test_registered() -> None:
    assert "instruction_following" in available()


def test_all_followed() -> None:
    case = make_case({"id": "product:max_words", "kwargs": {"max_words": 20}})
    obs = Observation(answer="Refunds take 5 days [1].", contexts=CONTEXTS)
    scores = score(case, obs, instructions=[{"id": "cites_sources"}])
    main = scores["instruction_following"]
    assert main.value is True
    assert main.metadata == {
        "instructions": [
            {"id": "product:cites_sources", "strict": True, "loose": True},
            {"id": "product:max_words", "strict": True, "loose": True},
        ],
        "loose": True,
    }
    assert scores["instruction_following_loose"].value is True
    assert scores["instruction:product:cites_sources"].value is True
    assert scores["instruction:product:max_words"].metadata == {"loose": True}


def test_failed_ids_are_listed_and_loose_kept_apart() -> None:
    case = make_case(
        {"id": "startend:quotation"},
        {"id": "punctuation:no_comma"},
        {"id": "keywords:existence", "kwargs": {"keywords": ["refund"]}},
    )
    obs = Observation(answer='Here, then:\n"Refunds, sadly, take 5 days."')
    scores = score(case, obs)
    main = scores["instruction_following"]
    assert main.value is False
    assert main.explanation == "failed 2 of 3: startend:quotation; punctuation:no_comma"
    assert main.metadata["loose"] is False
    assert [f["id"] for f in main.metadata["failed"]] == [
        "startend:quotation",
        "punctuation:no_comma",
    ]
    assert scores["instruction_following_loose"].value is False
    loose = scores["instruction_following_loose"].explanation
    assert loose == "failed 1 of 3: punctuation:no_comma"
    assert scores["instruction:startend:quotation"].value is False
    assert scores["instruction:startend:quotation"].metadata == {
        "loose": True,
        "failed": [{"id": "startend:quotation", "kwargs": {}, "found": ""}],
    }
    assert scores["instruction:keywords:existence"].value is True


def test_same_id_twice_passes_only_if_both_pass() -> None:
    case = make_case({"id": "keywords:existence", "kwargs": {"keywords": ["days"]}})
    obs = Observation(answer="Refunds take 5 days.")
    journey = [{"id": "keywords:existence", "kwargs": {"keywords": ["weeks"]}}]
    scores = score(case, obs, instructions=journey)
    assert scores["instruction:keywords:existence"].value is False
    assert [i["strict"] for i in scores["instruction_following"].metadata["instructions"]] == [
        False,
        True,
    ]


def test_heavy_checks_run_too() -> None:
    case = make_case({"id": "language:response_language", "kwargs": {"language": "de"}})
    obs = Observation(answer="Die Rückerstattung dauert fünf Werktage, bitte haben Sie Geduld.")
    assert score(case, obs)["instruction_following"].value is True


@pytest.mark.parametrize(
    ("obs", "reason"),
    [
        (Observation(status="timeout", error="read timed out"), "the target failed (timeout)"),
        (Observation(answer=None), "the target gave no answer"),
        (Observation(answer="  \n"), "the target gave no answer"),
    ],
)
def test_unscorable_when_the_target_gave_nothing(obs: Observation, reason: str) -> None:
    scores = score(make_case({"id": "punctuation:no_comma"}), obs)
    assert set(scores) == {
        "instruction_following",
        "instruction_following_loose",
        "instruction:punctuation:no_comma",
    }
    assert all(s.value is None and s.explanation == reason for s in scores.values())


def test_unscorable_without_instructions() -> None:
    scores = score(make_case(), Observation(answer="Anything."))
    assert scores["instruction_following"].value is None
    assert scores["instruction_following"].explanation == "the case has no instructions"


def test_bad_journey_option_is_an_input_error_with_location() -> None:
    with pytest.raises(InputError) as info:
        create(
            "instruction_following",
            {"instructions": [{"id": "punctuation:no_coma"}]},
            file="suite.yaml",
            line=9,
        )
    message = str(info.value)
    assert message.startswith("suite.yaml:9: field 'scorers': ")
    assert "did you mean 'punctuation:no_comma'" in message


def test_bad_case_instruction_is_an_input_error_naming_the_case() -> None:
    case = make_case({"id": "length_constraints:number_words", "kwargs": {"num_words": 5}})
    with pytest.raises(
        InputError, match="case 'c1': instruction 'length_constraints:number_words'"
    ):
        score(case, Observation(answer="text"))
