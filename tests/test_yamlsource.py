"""Suite YAML: lines kept for errors, and hostile files (bad bytes, alias bombs, huge or deep
documents) refused as bad input (exit 2) at once, naming file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from cujeval._util.yamlsource import MAX_BYTES, MAX_NODES, LineList, LineMap, load_yaml
from cujeval.errors import InputError
from cujeval.spec.suite import load_suite
from tests.helpers import write_suite


def write(tmp_path: Path, data: str | bytes, name: str = "s.yaml") -> Path:
    p = tmp_path / name
    if isinstance(data, str):
        p.write_text(data, encoding="utf-8")
    else:
        p.write_bytes(data)
    return p


def alias_bomb(levels: int = 9, fan: int = 9) -> str:
    """Nine levels of nine-fold anchors: under 1 KiB, 9**9 (387 million) values expanded."""
    lines = ["a0: &a0 [" + ", ".join(['"lol"'] * fan) + "]"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * fan) + "]")
    lines.append(f"name: bomb\ntargets: {{}}\njourneys: *a{levels - 1}")
    return "\n".join(lines) + "\n"


def test_lines_are_kept(tmp_path: Path) -> None:
    tree = load_yaml(write(tmp_path, "a: 1\nb:\n  - x\n  - {c: 'y'}\n"))
    assert isinstance(tree, LineMap) and tree.lines == {"a": 1, "b": 2}
    assert isinstance(tree["b"], LineList) and tree["b"].lines == [3, 4]
    assert tree["b"][1] == {"c": "y"} and tree["a"] == 1


def test_small_aliases_still_work(tmp_path: Path) -> None:
    tree = load_yaml(write(tmp_path, "base: &b {x: 1}\nuse: *b\nlist: [*b, *b]\n"))
    assert tree["use"] == {"x": 1} and tree["list"] == [{"x": 1}, {"x": 1}]


def test_an_alias_bomb_is_refused(tmp_path: Path) -> None:
    p = write(tmp_path, alias_bomb())
    assert p.stat().st_size < 1024
    with pytest.raises(InputError, match=rf"s.yaml:\d+: .*more than {MAX_NODES} values"):
        load_yaml(p)


def test_an_alias_bomb_suite_exits_2(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        load_suite(write(tmp_path, alias_bomb()))
    assert info.value.exit_code == 2


@pytest.mark.parametrize("text", ["name: &x [*x]\n", "a: &x\n  b: *x\n"])
def test_a_recursive_alias_is_refused(tmp_path: Path, text: str) -> None:
    with pytest.raises(InputError, match=r"s.yaml:1: .*nested deeper than"):
        load_yaml(write(tmp_path, text))


def test_too_many_plain_values(tmp_path: Path) -> None:
    p = write(tmp_path, "a: [" + "1," * (MAX_NODES + 10) + "1]\n")
    with pytest.raises(InputError, match=r"s.yaml:1: more than \d+ values"):
        load_yaml(p)


def test_an_oversized_file_is_refused_before_parsing(tmp_path: Path) -> None:
    p = write(tmp_path, "a: '" + "x" * MAX_BYTES + "'\n")
    with pytest.raises(InputError, match=r"s.yaml: larger than 4 MiB"):
        load_yaml(p)


def test_deep_nesting(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"s.yaml:1: .*nesting depth|nested deeper"):
        load_yaml(write(tmp_path, "a: " + "[" * 5000 + "]" * 5000 + "\n"))


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"name: t\nurl: caf\xe9\n", r"s.yaml:2: not UTF-8 text: byte 0xe9 at byte offset 16"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", r"s.yaml:1: not UTF-8 text: byte 0x89"),
        (b"name: a\x00b\n", r"s.yaml:1: invalid YAML: .*control characters"),
        (b"a: 1\n---\nb: 2\n", r"s.yaml:2: invalid YAML"),
        (b"a: " + b"9" * 5000 + b"\n", r"s.yaml:1: field 'a': invalid value: Exceeds the limit"),
        (b"a: 2024-13-45\n", r"s.yaml:1: field 'a': invalid value: month must be in 1..12"),
    ],
)
def test_bad_bytes_and_values(tmp_path: Path, data: bytes, match: str) -> None:
    with pytest.raises(InputError, match=match):
        load_yaml(write(tmp_path, data))


def test_a_binary_suite_exits_2_naming_the_file(tmp_path: Path) -> None:
    p = write(tmp_path, bytes(range(256)) * 16, name="suite.yaml")
    with pytest.raises(InputError, match=r"suite.yaml:\d+: ") as info:
        load_suite(p)
    assert info.value.exit_code == 2


def test_a_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    assert load_yaml(write(tmp_path, b"\xef\xbb\xbfa: 1\n")) == {"a": 1}


def test_a_real_suite_still_loads(tmp_path: Path) -> None:
    suite = load_suite(write_suite(tmp_path, url="http://127.0.0.1:9/answer"))
    assert suite.name == "t" and list(suite.targets) == ["svc"]
