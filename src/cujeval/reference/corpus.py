"""The help-centre corpus the reference RAG service answers from: articles and their sentences."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from cujeval.errors import InputError

CORPUS_RELPATH = Path("datasets") / "helpcentre" / "articles.jsonl"
_FIELDS = ("id", "title", "section", "text")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(<$])")


@dataclass(frozen=True)
class Article:
    """One help-centre article; ``id`` (``kb-012``) is what contexts and citations name."""

    id: str
    title: str
    section: str
    text: str

    @property
    def sentences(self) -> tuple[str, ...]:
        return split_sentences(self.text)


def split_sentences(text: str) -> tuple[str, ...]:
    """Split prose on ``. ! ?`` followed by whitespace and a capital, digit or quote.

    Good enough for the corpus, which avoids abbreviations such as "e.g." by design.
    """
    return tuple(s.strip() for s in _SENTENCE_END.split(text.strip()) if s.strip())


def load_articles(path: str | Path) -> tuple[Article, ...]:
    """Read ``{"id", "title", "section", "text"}`` JSON lines; errors name file, line, field."""
    path = Path(path)
    if not path.is_file():
        raise InputError("corpus file not found", file=path)
    articles: list[Article] = []
    seen: set[str] = set()
    with path.open(encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            articles.append(_parse_line(line, path, line_no, seen))
    if not articles:
        raise InputError("corpus has no articles", file=path)
    return tuple(articles)


def _parse_line(line: str, path: Path, line_no: int, seen: set[str]) -> Article:
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON: {exc.msg}", file=path, line=line_no) from None
    if not isinstance(row, dict):
        raise InputError("expected a JSON object", file=path, line=line_no)
    for name in _FIELDS:
        value = row.get(name)
        if not isinstance(value, str) or not value.strip():
            raise InputError("must be a non-empty string", file=path, line=line_no, field=name)
    if row["id"] in seen:
        raise InputError(f"duplicate id {row['id']!r}", file=path, line=line_no, field="id")
    seen.add(row["id"])
    return Article(id=row["id"], title=row["title"], section=row["section"], text=row["text"])


def default_corpus_path() -> Path:
    """``datasets/helpcentre/articles.jsonl`` of the repository holding this module.

    The bundled copy first (cujeval._util.paths.project_root: inside a wheel, or the checkout), then
    up from this file and from the working directory.
    """
    from cujeval._util.paths import project_root

    bundled = project_root() / CORPUS_RELPATH
    if bundled.is_file():
        return bundled
    starts = (Path(__file__).resolve().parent, Path.cwd().resolve())
    for start in starts:
        for folder in (start, *start.parents):
            candidate = folder / CORPUS_RELPATH
            if candidate.is_file():
                return candidate
    raise InputError(
        f"cannot find {CORPUS_RELPATH.as_posix()} above {starts[0]} or {starts[1]}; "
        "pass the corpus path explicitly (--corpus)"
    )
