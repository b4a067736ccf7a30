from __future__ import annotations

from pathlib import Path

import pytest

from cujeval.errors import InputError
from cujeval.spec.journal import Journal, read_rows


def test_torn_last_line_is_repaired_and_appends_continue(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    j = Journal(path)
    j.append({"journey": "a", "case_id": "1", "epoch": 0})
    j.append({"journey": "a", "case_id": "2", "epoch": 0})
    j.close()
    with path.open("a") as f:
        f.write('{"journey": "a", "case_id": "3"')  # killed mid-write
    assert [r.case_id for r in read_rows(path)] == ["1", "2"]
    assert path.read_text().endswith('"3"')  # reading alone leaves the file as it is
    assert [r.case_id for r in read_rows(path, repair=True)] == ["1", "2"]
    assert path.read_text().endswith("}\n")  # the torn line is gone
    j2 = Journal(path)
    j2.append({"journey": "a", "case_id": "3", "epoch": 0})
    j2.close()
    assert [r.key for r in read_rows(path)] == [("a", "1", 0), ("a", "2", 0), ("a", "3", 0)]


def test_a_bad_row_in_the_middle_is_bad_input(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    path.write_text(
        '{"journey": "a", "case_id": "1"}\n{"journey": 5}\n{"journey": "a", "case_id": "2"}\n'
    )
    with pytest.raises(InputError, match=r"journal.jsonl:2"):
        list(read_rows(path))


def test_rows_keep_unknown_fields_and_typed_ones(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    j = Journal(path)
    j.append(
        {
            "journey": "a",
            "case_id": "1",
            "epoch": 2,
            "observation": {"status": "timeout"},
            "scores": {"error": {"value": True}},
            "extra": 1,
        }
    )
    j.close()
    (row,) = read_rows(path)
    assert (row.epoch, row.status, row.ok, row.values()) == (2, "timeout", False, {"error": True})
