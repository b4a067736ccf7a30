from __future__ import annotations

from pathlib import Path

from cujeval.journal import Journal


def test_append_and_read_drop_torn_line(tmp_path: Path) -> None:
    j = Journal(tmp_path / "journal.jsonl")
    j.append({"journey": "a", "case_id": "1", "epoch": 0})
    j.append({"journey": "a", "case_id": "2", "epoch": 0})
    j.close()
    with (tmp_path / "journal.jsonl").open("a") as f:
        f.write('{"journey": "a", "case_id": "3"')  # killed mid-write
    rows = list(Journal(tmp_path / "journal.jsonl").read())
    assert [r["case_id"] for r in rows] == ["1", "2"]
    j2 = Journal(tmp_path / "journal.jsonl")
    j2.append({"journey": "a", "case_id": "3", "epoch": 0})
    j2.close()
    assert [r["case_id"] for r in Journal(tmp_path / "journal.jsonl").read()] == ["1", "2", "3"]
