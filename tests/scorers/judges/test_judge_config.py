"""JudgeConfig.from_mapping: defaults, and errors that name the judge.<field> at fault."""

from __future__ import annotations

from typing import Any

import pytest

from cujeval.errors import InputError
from cujeval.scorers import base as registry
from cujeval.scorers.judges import JudgeConfig

BASE = {"base_url": "http://127.0.0.1:8080/v1", "model": "gemma"}


def test_minimal_block_takes_the_documented_defaults() -> None:
    cfg = JudgeConfig.from_mapping({**BASE, "api_key_env": "JUDGE_KEY"})
    assert cfg == JudgeConfig(
        base_url="http://127.0.0.1:8080/v1", model="gemma", api_key_env="JUDGE_KEY"
    )
    assert (cfg.max_concurrency, cfg.timeout_s, cfg.max_retries, cfg.epochs) == (4, 120.0, 3, 1)
    assert cfg.cache_dir == ".cujeval/cache/judge"
    assert cfg.temperature == 0.0
    assert cfg.prices is None


def test_full_block_is_read() -> None:
    cfg = JudgeConfig.from_mapping(
        {
            **BASE,
            "max_concurrency": 2,
            "timeout_s": 5,
            "max_retries": 0,
            "epochs": 3,
            "cache_dir": None,
            "temperature": 0.7,
            "max_tokens": 256,
            "prices": {"gemma": {"input_per_mtok": 0.1, "output_per_mtok": 0.4}},
        }
    )
    assert cfg.epochs == 3 and cfg.cache_dir is None and cfg.timeout_s == 5.0
    assert cfg.prices == {"gemma": {"input_per_mtok": 0.1, "output_per_mtok": 0.4}}


@pytest.mark.parametrize(
    ("patch", "field", "words"),
    [
        ({"base_url": None}, "judge.base_url", "required"),
        ({"model": ""}, "judge.model", "required"),
        ({"base_url": "127.0.0.1:8080"}, "judge.base_url", "http://"),
        ({"epochs": 0}, "judge.epochs", ">= 1"),
        ({"epochs": True}, "judge.epochs", "integer"),
        ({"max_concurrency": "4"}, "judge.max_concurrency", "integer"),
        ({"max_retries": -1}, "judge.max_retries", ">= 0"),
        ({"timeout_s": 0}, "judge.timeout_s", "> 0"),
        ({"temperature": 3}, "judge.temperature", "<= 2"),
        ({"cache_dir": 5}, "judge.cache_dir", "string"),
        ({"prices": {"gemma": {"input_per_mtok": 1}}}, "judge.prices.gemma", "exactly"),
        (
            {"prices": {"gemma": {"input_per_mtok": -1, "output_per_mtok": 1}}},
            "judge.prices.gemma.input_per_mtok",
            ">= 0",
        ),
        ({"modle": "x"}, "judge.modle", "did you mean 'model'"),
    ],
)
def test_errors_name_the_field(patch: dict[str, Any], field: str, words: str) -> None:
    with pytest.raises(InputError) as info:
        JudgeConfig.from_mapping({**BASE, **patch}, file="suite.yaml", line=7)
    assert info.value.field == field
    assert words in info.value.message
    assert str(info.value).startswith(f"suite.yaml:7: field '{field}': ")


def test_not_a_mapping() -> None:
    with pytest.raises(InputError) as info:
        JudgeConfig.from_mapping("http://127.0.0.1:8080/v1")
    assert info.value.field == "judge"


def test_a_pasted_key_is_rejected_without_being_echoed() -> None:
    secret = "sk-proj-abc123-DO-NOT-LOG"
    with pytest.raises(InputError) as info:
        JudgeConfig.from_mapping({**BASE, "api_key_env": secret})
    assert info.value.field == "judge.api_key_env"
    assert secret not in str(info.value)


def test_public_settings_hide_credentials() -> None:
    cfg = JudgeConfig.from_mapping(
        {**BASE, "base_url": "https://user:pw@judge.example/v1?api_key=s3cret"}
    )
    shown = str(cfg.public())
    assert "pw" not in shown and "s3cret" not in shown
    assert cfg.public()["model"] == "gemma"


def test_scorer_factory_reports_bad_judge_block_with_file_and_line() -> None:
    with pytest.raises(InputError) as info:
        registry.create("llm_faithfulness", {"judge": {**BASE, "epochs": 0}}, file="s.yaml", line=3)
    text = str(info.value)
    assert text.startswith("s.yaml:3: ") and "judge.epochs" in text


def test_scorer_factory_needs_a_judge_block() -> None:
    with pytest.raises(InputError, match="judge"):
        registry.create("context_recall", {})


def test_scorer_factory_checks_the_key_variable_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CUJEVAL_TEST_ABSENT_KEY", raising=False)
    with pytest.raises(InputError, match="CUJEVAL_TEST_ABSENT_KEY is not set"):
        registry.create(
            "answer_relevancy", {"judge": {**BASE, "api_key_env": "CUJEVAL_TEST_ABSENT_KEY"}}
        )


def test_judge_scorers_are_registered() -> None:
    names = registry.available()
    for name in ("llm_faithfulness", "answer_relevancy", "context_precision", "context_recall"):
        assert name in names
    assert names["llm_faithfulness"].needs == ("answer", "contexts")
