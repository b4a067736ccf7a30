"""JudgeConfig.from_mapping: defaults, and errors that name the judge.<field> at fault."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pydantic
import pytest

from cujeval._util.paths import default_cache_dir
from cujeval._util.yamlsource import load_yaml
from cujeval.errors import InputError
from cujeval.scorers import base as registry
from cujeval.scorers.judges import JudgeConfig
from cujeval.spec.suite import load_suite

BASE = {"base_url": "http://127.0.0.1:8080/v1", "model": "gemma"}


def test_minimal_block_takes_the_documented_defaults() -> None:
    cfg = JudgeConfig.from_mapping({**BASE, "api_key_env": "JUDGE_KEY"})
    assert cfg == JudgeConfig(
        base_url="http://127.0.0.1:8080/v1", model="gemma", api_key_env="JUDGE_KEY"
    )
    assert (cfg.max_concurrency, cfg.timeout_s, cfg.max_retries, cfg.epochs) == (4, 120.0, 3, 1)
    assert cfg.cache_dir == default_cache_dir()  # the user cache directory
    assert Path(cfg.cache_dir).parts[-2:] == ("cujeval", "judge")
    assert cfg.temperature == 0.0 and cfg.max_tokens == 1024
    assert cfg.prices is None


def test_the_default_cache_dir_without_platformdirs(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "platformdirs", None)  # import fails
    assert default_cache_dir() == str(Path.home() / ".cache" / "cujeval" / "judge")


def test_the_config_is_frozen() -> None:
    cfg = JudgeConfig.from_mapping(BASE)
    with pytest.raises(pydantic.ValidationError):
        cfg.epochs = 3  # type: ignore[misc]


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
    assert cfg.price_table == {"gemma": {"input_per_mtok": 0.1, "output_per_mtok": 0.4}}
    assert cfg.prices is not None and cfg.prices["gemma"].output_per_mtok == 0.4


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
        ({"max_tokens": 0}, "judge.max_tokens", ">= 1"),
        ({"max_tokens": 1.5}, "judge.max_tokens", "integer"),
        # a price row needs both keys: the missing one is named
        (
            {"prices": {"gemma": {"input_per_mtok": 1}}},
            "judge.prices.gemma.output_per_mtok",
            "required",
        ),
        (
            {"prices": {"gemma": {"input_per_mtok": 1, "output_per_mtok": 1, "cached": 0}}},
            "judge.prices.gemma.cached",
            "unknown setting",
        ),
        ({"prices": {"gemma": 0.5}}, "judge.prices.gemma", "input_per_mtok, output_per_mtok"),
        ({"prices": [1]}, "judge.prices", "mapping"),
        (
            {"prices": {"gemma": {"input_per_mtok": -1, "output_per_mtok": 1}}},
            "judge.prices.gemma.input_per_mtok",
            ">= 0",
        ),
        (
            {"prices": {"gemma": {"input_per_mtok": "cheap", "output_per_mtok": 1}}},
            "judge.prices.gemma.input_per_mtok",
            "number",
        ),
        ({"modle": "x"}, "judge.modle", "did you mean 'model'"),
        ({"max_token": 5}, "judge.max_token", "did you mean 'max_tokens'"),
        ({"zzz": 1}, "judge.zzz", "known: base_url"),
    ],
)
def test_errors_name_the_field(patch: dict[str, Any], field: str, words: str) -> None:
    with pytest.raises(InputError) as info:
        JudgeConfig.from_mapping({**BASE, **patch}, file="suite.yaml", line=7)
    assert info.value.field == field
    assert words in info.value.message
    assert str(info.value).startswith(f"suite.yaml:7: field '{field}': ")


def test_a_misspelt_required_key_is_named_before_the_missing_one() -> None:
    with pytest.raises(InputError) as info:
        JudgeConfig.from_mapping({"base_url": BASE["base_url"], "modle": "gemma"})
    assert info.value.field == "judge.modle"
    assert "did you mean 'model'" in info.value.message and "1 more problem" in info.value.message


def test_several_problems_name_the_first_and_count_the_rest() -> None:
    with pytest.raises(InputError) as info:
        JudgeConfig.from_mapping({**BASE, "epochs": 0, "max_retries": -1})
    assert info.value.field == "judge.max_retries"  # the first in the block's field order
    assert "(and 1 more problem)" in info.value.message


SUITE = """\
name: s
targets:
  t: {kind: http, url: "http://127.0.0.1:9/answer"}
judge:
  base_url: http://127.0.0.1:8080/v1
  model: gemma
  prices:
    gemma:
      input_per_mtok: 1
      output_per_mtok: 2
journeys:
  - name: j
    dataset: d.jsonl
    target: t
    scorers: [error]
    slos: [{name: ok, good: error == false, target: 0.9}]
"""


def write_suite(tmp_path: Path, old: str = "", new: str = "") -> Path:
    (tmp_path / "d.jsonl").write_text('{"id": "1", "input": "q"}\n')
    path = tmp_path / "suite.yaml"
    path.write_text(SUITE.replace(old, new) if old else SUITE)
    return path


def test_a_valid_block_in_a_suite(tmp_path: Path) -> None:
    assert load_suite(write_suite(tmp_path)).judge is not None


@pytest.mark.parametrize(
    ("old", "new", "line", "field"),
    [
        ("output_per_mtok: 2", "output_per_mtok: -2", 10, "judge.prices.gemma.output_per_mtok"),
        ("  model: gemma\n", "  model: gemma\n  epochz: 2\n", 7, "judge.epochz"),
        ("  model: gemma\n", "  model: gemma\n  max_tokens: many\n", 7, "judge.max_tokens"),
        ("  model: gemma\n", "  model: gemma\n  api_key_env: sk-live-123\n", 7, None),
    ],
)
def test_the_suite_loader_points_at_the_offending_key(
    tmp_path: Path, old: str, new: str, line: int, field: str | None
) -> None:
    """The suite passes its LineMap: an error names the line of the key itself."""
    path = write_suite(tmp_path, old, new)
    with pytest.raises(InputError) as info:
        load_suite(path)
    field = field or "judge.api_key_env"
    assert (info.value.line, info.value.field) == (line, field)
    assert str(info.value).startswith(f"{path}:{line}: field '{field}': ")
    assert "sk-live-123" not in str(info.value) and "many" not in str(info.value)


def test_a_line_map_block_alone(tmp_path: Path) -> None:
    path = tmp_path / "j.yaml"
    path.write_text("base_url: http://x/v1\nmodel: m\n\ntimeout_s: -1\n")
    with pytest.raises(InputError) as info:
        JudgeConfig.from_mapping(load_yaml(path), file=path, line=1)
    assert (info.value.line, info.value.field) == (4, "judge.timeout_s")


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
