"""The offline judge end to end, with the packaged MiniLM model and the shipped weights."""

from __future__ import annotations

from cujeval.grounding.judge import judge

PASSAGES = [
    "Preheat the oven to 350 degrees. Place the eggs in a muffin tin and bake them for "
    "30 minutes. Do not stir the eggs while they bake.",
    "Move the baked eggs to a bowl of ice water. Peel them once they are cold.",
]
QUESTION = "how to bake hard boiled eggs"


def test_a_copied_answer_is_faithful() -> None:
    verdict = judge(
        "Preheat the oven to 350 degrees and bake the eggs in a muffin tin for 30 minutes. "
        "Then move them to ice water and peel them once cold.",
        PASSAGES,
        QUESTION,
    )
    assert verdict.faithfulness == 1.0
    assert not verdict.hallucinated
    assert {c.nearest_passage for c in verdict.checked} == {0, 1}


def test_a_number_no_passage_states_makes_the_claim_unsupported() -> None:
    right = judge("Bake the eggs for 30 minutes.", PASSAGES, QUESTION)
    wrong = judge("Bake the eggs for 45 minutes.", PASSAGES, QUESTION)
    assert not right.hallucinated
    assert wrong.hallucinated
    assert wrong.hallucination_score >= 0.5 > right.hallucination_score


def test_invented_content_is_unsupported() -> None:
    verdict = judge(
        "Preheat the oven to 350 degrees. Sprinkle smoked paprika, saffron and grated "
        "parmesan over the yolks, then drizzle truffle oil before serving with sourdough.",
        PASSAGES,
        QUESTION,
    )
    assert [c.supported for c in verdict.checked] == [True, False]
    assert verdict.faithfulness == 0.5
    assert verdict.hallucinated


def test_hedges_are_not_checked_and_an_answer_without_claims_is_vacuously_faithful() -> None:
    verdict = judge("I'm sorry, I cannot answer that from the passages.", PASSAGES, QUESTION)
    assert [c.checkable for c in verdict.claims] == [False]
    assert verdict.faithfulness == 1.0
    assert verdict.hallucination_score == 0.0
    assert not verdict.hallucinated


def test_threshold_decides_support() -> None:
    answer = "Bake the eggs for 45 minutes at 400 degrees with saffron."
    strict = judge(answer, PASSAGES, QUESTION, threshold=0.0)
    lenient = judge(answer, PASSAGES, QUESTION, threshold=1.0)
    assert strict.hallucinated and strict.faithfulness == 0.0
    assert not lenient.hallucinated and lenient.faithfulness == 1.0
