from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from cujeval.errors import DatasetError, InputError
from cujeval.spec.dataset import digest, inspect, iter_cases


def jsonl(tmp_path: Path, rows: list[object], name: str = "d.jsonl") -> Path:
    p = tmp_path / name
    p.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return p


def test_streams_validated_cases(tmp_path: Path) -> None:
    p = jsonl(
        tmp_path,
        [
            {"id": "a", "input": "q1", "relevant_ids": ["d1"], "tags": ["x"]},
            {"id": 7, "input": [{"role": "user", "content": "q2"}]},
        ],
    )
    cases = list(iter_cases(p))
    assert [c.id for c in cases] == ["a", "7"]
    assert cases[1].question == "q2"
    info = inspect(p)
    assert info.n_cases == 2 and info.digest == digest(p) and info.digest.startswith("sha256:")


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ([{"id": "a", "input": "q"}, {"input": "x"}], r"d.jsonl:2: field 'id': is required"),
        ([{"id": "a", "input": "q"}, "{broken"], r"d.jsonl:2: invalid JSON"),
        (
            [{"id": "a", "input": "q"}, {"id": "a", "input": "r"}],
            r"d.jsonl:2: field 'id': duplicate id 'a' \(first at line 1\)",
        ),
        ([{"id": "a", "input": "q", "relevant_ids": "d1"}], r"d.jsonl:1: field 'relevant_ids'"),
        ([["not", "an", "object"]], r"d.jsonl:1: a case must be a JSON object"),
    ],
)
def test_errors_name_file_line_field(tmp_path: Path, rows: list[object], expected: str) -> None:
    with pytest.raises(DatasetError, match=expected):
        inspect(jsonl(tmp_path, rows))


def test_unknown_instruction_suggests(tmp_path: Path) -> None:
    p = jsonl(
        tmp_path,
        [{"id": "a", "input": "q", "instructions": [{"id": "punctuation:no_comas", "kwargs": {}}]}],
    )
    from cujeval.engine.plan import check_instructions

    with pytest.raises(InputError, match=r"d.jsonl:1: .*punctuation:no_comma"):
        inspect(p, check=check_instructions)


def test_csv(tmp_path: Path) -> None:
    p = tmp_path / "d.csv"
    p.write_text('id,input,relevant_ids\na,hello,d1|d2\nb,bye,"[""d3""]"\n')
    cases = list(iter_cases(p))
    assert cases[0].relevant_ids == ("d1", "d2") and cases[1].relevant_ids == ("d3",)


def test_empty_and_missing(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="no cases"):
        inspect(jsonl(tmp_path, []))
    with pytest.raises(DatasetError, match="no such dataset"):
        inspect(tmp_path / "missing.jsonl")


def test_bundled_datasets_valid() -> None:
    root = Path(__file__).resolve().parents[1] / "datasets"
    for p in root.glob("*.jsonl"):
        assert inspect(p).n_cases > 0


# ---------------------------------------------------------------- bad bytes

BINARY = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4


def test_invalid_utf8_names_file_and_line(tmp_path: Path) -> None:
    p = tmp_path / "d.jsonl"
    p.write_bytes(b'{"id": "a", "input": "q"}\n{"id": "b", "input": "caf\xe9"}\n')
    with pytest.raises(
        DatasetError, match=r"d.jsonl:2: not UTF-8: byte 0xe9 at column 26 \(byte offset 51\)"
    ):
        inspect(p)


def test_invalid_utf8_in_csv(tmp_path: Path) -> None:
    p = tmp_path / "d.csv"
    p.write_bytes(b"id,input\na,hello\nb,caf\xe9\n")
    with pytest.raises(DatasetError, match=r"d.csv:3: not UTF-8"):
        inspect(p)


@pytest.mark.parametrize("name", ["d.jsonl", "d.csv"])
def test_a_binary_file_is_refused(tmp_path: Path, name: str) -> None:
    p = tmp_path / name
    p.write_bytes(BINARY)
    with pytest.raises(DatasetError, match=rf"{name}:3: binary data \(a NUL byte at offset 8\)"):
        inspect(p)


def test_a_binary_file_without_nul_bytes_is_refused(tmp_path: Path) -> None:
    p = tmp_path / "d.jsonl"
    p.write_bytes(bytes(range(128, 256)) * 8)
    with pytest.raises(DatasetError, match=r"d.jsonl:1: not UTF-8: byte 0x80"):
        inspect(p)


def test_a_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    jl = tmp_path / "d.jsonl"
    jl.write_bytes(b'\xef\xbb\xbf{"id": "a", "input": "q"}\n')
    cs = tmp_path / "d.csv"
    cs.write_bytes(b"\xef\xbb\xbfid,input\na,hello\n")
    assert [c.id for c in iter_cases(jl)] == ["a"] and [c.id for c in iter_cases(cs)] == ["a"]


@pytest.mark.parametrize(
    ("line", "match"),
    [
        ("[" * 100_000 + "]" * 100_000, "invalid JSON: nested too deeply"),
        ('{"id": "a", "input": "q", "n": ' + "9" * 5000 + "}", "invalid JSON: Exceeds the limit"),
    ],
)
def test_hostile_json_lines(tmp_path: Path, line: str, match: str) -> None:
    with pytest.raises(DatasetError, match=rf"d.jsonl:1: {match}"):
        inspect(jsonl(tmp_path, [line]))


def test_template_syntax_in_values_is_kept_verbatim(tmp_path: Path) -> None:
    p = jsonl(tmp_path, [{"id": "a", "input": "${HOME} and {{question}} and {{case.id}}"}])
    assert next(iter_cases(p)).question == "${HOME} and {{question}} and {{case.id}}"


def test_json_array_and_json_lines_need_no_extra(tmp_path: Path) -> None:
    array = tmp_path / "a.json"
    array.write_text(
        '\ufeff [\n  {"id": "a", "input": "q1", "tags": null},\n  {"id": "b", "input": "q2"}\n]\n'
    )
    lines = jsonl(tmp_path, [{"id": "a", "input": "q1"}, {"id": "b", "input": "q2"}], "l.json")
    assert [c.id for c in iter_cases(array)] == ["a", "b"]
    assert [c.question for c in iter_cases(lines)] == ["q1", "q2"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[{"id": "a", "input": "q"}, {"input": "x"}]', r"a.json:2: field 'id': is required"),
        ('[{"id": "a", "input": "q"},\n {"id": ]', r"a.json:2: invalid JSON: Expecting value"),
        ('[{"id": "a", "input": "q"}, 7]', r"a.json:2: a case must be a JSON object"),
    ],
)
def test_json_array_errors_name_the_case(tmp_path: Path, text: str, expected: str) -> None:
    p = tmp_path / "a.json"
    p.write_text(text)
    with pytest.raises(DatasetError, match=expected):
        inspect(p)


@pytest.mark.parametrize("suffix", [".parquet", ".arrow"])
def test_parquet_without_its_extra_names_it(
    tmp_path: Path, suffix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "datasets", None)  # as where the extra is not installed
    p = tmp_path / f"d{suffix}"
    p.write_bytes(b"PAR1")
    with pytest.raises(DatasetError, match=rf"d\{suffix}: .*pip install 'cujeval\[parquet\]'"):
        inspect(p)
