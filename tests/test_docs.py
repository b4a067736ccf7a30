"""The documentation matches the code: the generated references are current, every documented
field has a description, the README stays a front door, and no relative link is broken."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"
README_MAX_LINES = 300
# Pages another change writes: a link to one is skipped, with a note, until the page lands.
PENDING = {DOCS / "grounding.md"}


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "gen_reference", ROOT / "scripts" / "gen_reference.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("gen_reference", module)
    spec.loader.exec_module(module)
    return module


gen = _generator()


@pytest.mark.parametrize("page", sorted(gen.PAGES))
def test_generated_reference_is_current(page: str) -> None:
    committed = (ROOT / page).read_text(encoding="utf-8") if (ROOT / page).exists() else ""
    assert committed == gen.PAGES[page](), (
        f"{page} differs from what the code says: regenerate it with `{gen.REGENERATE}` "
        "and commit the result"
    )


def test_every_documented_field_has_a_description() -> None:
    missing = gen.missing_descriptions()
    assert not missing, (
        f"fields without a description: {', '.join(missing)}; add them to DESCRIPTIONS in "
        f"scripts/gen_reference.py, then run `{gen.REGENERATE}`"
    )


def test_every_setting_is_documented() -> None:
    from cujeval.spec.suite import Settings

    described = gen.DESCRIPTIONS["Settings"]
    assert sorted(Settings.model_fields) == sorted(described), (
        "Settings fields and their descriptions in scripts/gen_reference.py differ: "
        f"undescribed {sorted(set(Settings.model_fields) - set(described))}, "
        f"described but gone {sorted(set(described) - set(Settings.model_fields))}"
    )


def test_missing_descriptions_are_found() -> None:
    """The check above can fail: a field without a description is reported."""
    saved = gen.DESCRIPTIONS["Settings"].pop("seed")
    try:
        assert "Settings.seed" in gen.missing_descriptions()
    finally:
        gen.DESCRIPTIONS["Settings"]["seed"] = saved


def test_stale_pages_are_found(tmp_path: Path) -> None:
    """A page that differs from the code is reported, and one that matches is not."""
    for rel, render in gen.PAGES.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(render(), encoding="utf-8")
    assert gen.stale(tmp_path) == []
    (tmp_path / "docs" / "settings.md").write_text("# edited by hand\n", encoding="utf-8")
    assert gen.stale(tmp_path) == ["docs/settings.md"]


def test_readme_is_a_front_door() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, (
        f"README.md has {len(lines)} lines; keep it at most {README_MAX_LINES} and move the "
        "detail into docs/"
    )
    text = "\n".join(lines)
    for command in ("make demo", "make test"):
        assert command in text


# ---- architecture --------------------------------------------------------------------------


def _contract_layers() -> list[str]:
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    layers = next(c["layers"] for c in contracts if c["type"] == "layers")
    return [" | ".join(p.strip() for p in layer.split("|")) for layer in layers]


def _documented_layers() -> list[str]:
    text = (DOCS / "architecture.md").read_text(encoding="utf-8")
    section = text.split("## The layers", 1)[1]
    block = re.search(r"```\n(.*?)```", section, re.S)
    assert block, "docs/architecture.md: no layer diagram under '## The layers'"
    names = [re.split(r"\s{2,}", line.strip())[0] for line in block.group(1).splitlines()]
    return [" | ".join(f"cujeval.{n.strip()}" for n in name.split("|")) for name in names if name]


def test_the_layer_diagram_is_the_contract() -> None:
    assert _documented_layers() == _contract_layers(), (
        "docs/architecture.md's layer diagram differs from [tool.importlinter] in "
        "pyproject.toml: update the diagram"
    )


def test_every_package_is_placed() -> None:
    text = (DOCS / "architecture.md").read_text(encoding="utf-8")
    table = text.split("## Where each package sits", 1)[1].split("\n## ", 1)[0]
    src = ROOT / "src" / "cujeval"
    names = sorted(
        p.stem
        for p in src.iterdir()
        if (p.is_dir() and (p / "__init__.py").exists())
        or (p.suffix == ".py" and p.stem != "__init__")
    )
    missing = [n for n in names if f"`{n}`" not in table]
    assert not missing, (
        f"docs/architecture.md does not say where these sit: {', '.join(missing)}; add them to "
        "'Where each package sits'"
    )


# ---- links ---------------------------------------------------------------------------------

_FENCE = re.compile(r"^(```|~~~).*?^\1", re.M | re.S)
_CODE = re.compile(r"(`+)(?:(?!\1).)+?\1", re.S)
_INLINE = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_REFDEF = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+\"[^\"]*\")?\s*$", re.M)
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$", re.M)


def _prose(text: str) -> str:
    """Markdown without code blocks and code spans, where a link is not a link."""
    return _CODE.sub("", _FENCE.sub("", text))


def links(text: str) -> list[str]:
    prose = _prose(text)
    return _INLINE.findall(prose) + _REFDEF.findall(prose)


def anchors(text: str) -> set[str]:
    """GitHub's anchors of a page's headings: lower case, punctuation dropped, spaces to
    hyphens, ``-1``, ``-2``... for repeats."""
    out: set[str] = set()
    for _, heading in _HEADING.findall(_FENCE.sub("", text)):
        plain = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link's text
        slug = re.sub(r"[^\w\- ]", "", plain.strip().lower()).replace(" ", "-")
        candidate, n = slug, 0
        while candidate in out:
            n += 1
            candidate = f"{slug}-{n}"
        out.add(candidate)
    return out


def _pages() -> list[Path]:
    return [README, *sorted(DOCS.glob("*.md"))]


def test_link_checker_sees_links_and_anchors() -> None:
    """The checker below finds inline, image and reference links, and skips code."""
    text = (
        "# Exit codes\n\nSee [a](docs/a.md#exit-codes), ![b](img/b.png), `[no](c.md)`.\n\n"
        "```\n[no](d.md)\n```\n\n[ref]: docs/e.md\n\n## The gate: its `reasons`\n"
    )
    assert links(text) == ["docs/a.md#exit-codes", "img/b.png", "docs/e.md"]
    assert anchors(text) == {"exit-codes", "the-gate-its-reasons"}


@pytest.mark.parametrize("page", _pages(), ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(page: Path) -> None:
    broken, pending = [], []
    for target in links(page.read_text(encoding="utf-8")):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):  # http:, https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        where = (page.parent / path).resolve() if path else page
        if not where.exists():
            (pending if where in PENDING else broken).append(target)
        elif anchor and where.suffix == ".md" and anchor not in anchors(where.read_text("utf-8")):
            broken.append(f"{target} (no heading with that anchor)")
    assert not broken, f"{page.relative_to(ROOT)}: broken links: {', '.join(broken)}"
    if pending:
        pytest.skip(f"links to pages not written yet: {', '.join(pending)}")
