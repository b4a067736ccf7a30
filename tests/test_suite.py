from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from cujeval.errors import InputError, SuiteError
from cujeval.spec.suite import load_suite

GOOD = """\
name: shop
targets:
  rag:
    kind: http
    url: ${SHOP_URL:-http://127.0.0.1:9}/answer
journeys:
  - name: grounded
    dataset: cases.jsonl
    target: rag
    scorers:
      - latency_s
      - precision@4
      - cost_usd: {prices: {m: {input_per_mtok: 1, output_per_mtok: 2}}}
    slos:
      - name: fast
        objective: p95(latency_s) <= 2
      - name: grounded
        good: faithfulness >= 0.8
        target: 0.95
      - name: success
        all_of: [grounded]
        target: 0.9
"""


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "suite.yaml"
    p.write_text(text)
    return p


def test_loads_frozen_suite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SHOP_URL", raising=False)
    suite = load_suite(write(tmp_path, GOOD))
    assert suite.targets["rag"].url == "http://127.0.0.1:9/answer"  # type: ignore[union-attr]
    j = suite.journeys[0]
    assert [s.name for s in j.scorers] == ["latency_s", "precision@4", "cost_usd"]
    assert j.scorers[2].options["prices"]["m"]["output_per_mtok"] == 2
    assert [s.kind for s in j.slos] == ["aggregate", "ratio", "journey"]
    assert suite.dataset_path(j) == tmp_path / "cases.jsonl"
    with pytest.raises(ValidationError):
        suite.name = "other"  # type: ignore[misc]


def test_env_interpolation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOP_URL", "http://127.0.0.1:1234")
    suite = load_suite(write(tmp_path, GOOD))
    assert suite.targets["rag"].url == "http://127.0.0.1:1234/answer"  # type: ignore[union-attr]


def test_unset_variable_without_default(tmp_path: Path) -> None:
    text = GOOD.replace("${SHOP_URL:-http://127.0.0.1:9}", "${CUJEVAL_SURELY_UNSET}")
    with pytest.raises(
        InputError, match=r"suite.yaml:5: field 'targets.rag.url'.*CUJEVAL_SURELY_UNSET"
    ):
        load_suite(write(tmp_path, text))


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (("target: rag", "target: rga"), r":9: field 'journeys\[0\].target': names target 'rga'"),
        (
            ("        target: 0.95\n", "        target: 1.5\n"),
            r":19: field 'journeys\[0\].slos\[1\].target'",
        ),
        (
            ("objective: p95(latency_s) <= 2", "objective: p95 latency <= 2"),
            r":16: .*cannot parse objective",
        ),
        (
            ("good: faithfulness >= 0.8", "good: faithfulness >= high"),
            r":18: .*cannot parse predicate",
        ),
        (
            ("all_of: [grounded]", "all_of: [fast]"),
            r"all_of names 'fast', which is not a ratio SLO",
        ),
        (("kind: http", "kind: ftp"), r":4: field 'targets.rag.kind'"),
        (("    url:", "    uri:"), r"targets.rag"),
        (("scorers:\n", "scorers: [\n"), r"invalid YAML"),
    ],
)
def test_errors_name_file_line_field(tmp_path: Path, edit: tuple[str, str], expected: str) -> None:
    with pytest.raises(SuiteError if "YAML" not in expected else InputError, match=expected):
        load_suite(write(tmp_path, GOOD.replace(*edit)))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SuiteError, match="no such suite file"):
        load_suite(tmp_path / "nope.yaml")


def test_bundled_suites_load() -> None:
    root = Path(__file__).resolve().parents[1] / "suites"
    suites = sorted(root.glob("*.yaml"))
    assert suites, "the repository bundles at least one suite"
    for path in suites:
        assert load_suite(path).journeys


def test_judge_block_errors_point_at_the_offending_key(tmp_path: Path) -> None:
    text = GOOD + "judge:\n  base_url: http://127.0.0.1:9/v1\n  modle: gemma\n"
    with pytest.raises(
        InputError,
        match=r"suite.yaml:25: field .judge.modle.: unknown setting; did you mean .model.",
    ):
        load_suite(write(tmp_path, text))


def test_judge_price_errors_point_at_the_price_line(tmp_path: Path) -> None:
    text = GOOD + (
        "judge:\n"
        "  base_url: http://127.0.0.1:9/v1\n"
        "  model: gpt-4.1\n"
        "  prices:\n"
        "    gpt-4.1:\n"
        "      input_per_mtok: 2\n"
        "      output_per_mtok: -8\n"
    )
    with pytest.raises(InputError) as info:
        load_suite(write(tmp_path, text))
    assert info.value.field == "judge.prices.gpt-4.1.output_per_mtok"
    assert "suite.yaml:29: " in str(info.value)


def test_judge_block_that_is_not_a_mapping_points_at_the_block(tmp_path: Path) -> None:
    text = GOOD + "judge: http://127.0.0.1:9/v1\n"
    with pytest.raises(InputError) as info:
        load_suite(write(tmp_path, text))
    assert info.value.field == "judge"
    assert "suite.yaml:23: " in str(info.value)


def test_an_http_template_or_response_typo_is_bad_input_naming_the_line(tmp_path: Path) -> None:
    """A misspelt ``{{placeholder}}`` would fail every call; a misspelt response key would be
    ignored: both are bad input before any call."""
    (tmp_path / "d.jsonl").write_text('{"id": "a", "input": "q"}\n')
    base = (
        "name: t\ntargets:\n  svc:\n    kind: http\n    url: http://127.0.0.1:9/answer\n"
        "{extra}journeys:\n  - {{name: j, dataset: d.jsonl, target: svc, scorers: [error]}}\n"
    )
    path = tmp_path / "s.yaml"
    path.write_text(base.format(extra='    request: {q: "{{questoin}}"}\n'))
    with pytest.raises(SuiteError, match=r"s\.yaml:6: .*targets\.svc\.request.*did you mean "):
        load_suite(path)
    path.write_text(base.format(extra="    response: {anser: answer}\n"))
    with pytest.raises(SuiteError, match=r"targets\.svc\.response.*'anser'"):
        load_suite(path)
    path.write_text(base.format(extra='    request: {q: "{{question}} {{case.tags}}"}\n'))
    assert load_suite(path).targets["svc"].kind == "http"
