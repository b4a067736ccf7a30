"""A comparison report as people read it: the console text, the pull-request Markdown, the
table of the HTML report, and the files (compare.json, compare.md) written beside a run."""

from __future__ import annotations

import html
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from cujeval.core.paired import POWER

if TYPE_CHECKING:
    from cujeval.core.compare import ChangedCase, SLOComparison


class ReportText:
    """What :class:`cujeval.core.compare.Report` shows of itself (the fields it renders)."""

    baseline_label: str
    candidate_label: str
    baseline_run: str
    candidate_run: str
    comparisons: list[SLOComparison]
    pairing: dict[str, dict[str, int]]
    skipped: list[str]
    kind: Literal["compare", "canary"]
    changed: list[ChangedCase]

    @property
    def regressed(self) -> list[SLOComparison]:
        return [c for c in self.comparisons if c.change == "REGRESSED"]

    @property
    def blocking(self) -> list[SLOComparison]:
        return [c for c in self.comparisons if c.blocks]

    def to_dict(self) -> dict[str, Any]:
        raise NotImplementedError

    def write(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        from cujeval._util.redact import dumps, redact

        (directory / "compare.json").write_text(dumps(self.to_dict(), indent=2), encoding="utf-8")
        (directory / "compare.md").write_text(redact(self.to_markdown()), encoding="utf-8")

    def summary(self) -> str:
        n_reg, n_block = len(self.regressed), len(self.blocking)
        unsure = sum(1 for c in self.comparisons if c.change == "INCONCLUSIVE")
        more = f"; {unsure} SLO(s) INCONCLUSIVE: too few pairs to see the allowed drop"
        more = more if unsure else ""
        if n_block:
            return f"{n_block} SLO(s) regressed beyond the allowed drop: blocks" + more
        if n_reg:
            return f"{n_reg} SLO(s) regressed, within the allowed drop" + more
        return ("no SLO shown to regress" if unsure else "no SLO regressed") + more

    def to_text(self) -> str:
        if self.kind == "canary":
            head = (
                f"{self.kind}: candidate {self.candidate_label} against baseline "
                f"{self.baseline_label}, both answering every case in run {self.candidate_run}"
            )
        else:
            head = (
                f"compare: candidate {self.candidate_label} ({self.candidate_run}) against "
                f"baseline {self.baseline_label} ({self.baseline_run})"
            )
        lines = [head]
        width = max([len(c.label) for c in self.comparisons] + [10])
        for c in self.comparisons:
            interval = (
                f"[{_signed(c, c.lower)}, {_signed(c, c.upper)}]" if c.lower is not None else ""
            )
            p = f" p={c.p_value:.3g}" if c.p_value is not None else ""
            block = "  BLOCKS" if c.blocks else ""
            lines.append(
                f"  {c.label:<{width}}  {c.change:<9}  {_fmt(c, c.baseline):>8} -> "
                f"{_fmt(c, c.candidate):<8} Δ {_signed(c, c.diff)} {interval}{p}  "
                f"n={c.n_paired} (-{c.worse}/+{c.better}){block}"
            )
            lines.append(f"  {'':<{width}}  {_power(c)}")
            if c.note and c.cases_needed is not None:
                lines.append(f"  {'':<{width}}  {c.note}")
        for journey, counts in self.pairing.items():
            if any(counts.get(k) for k in ("only_baseline", "only_candidate", "changed")):
                lines.append(
                    f"  {journey}: not paired: {counts['only_baseline']} only in the baseline, "
                    f"{counts['only_candidate']} only in the candidate, "
                    f"{counts['changed']} changed golden cases"
                )
        for journey in self.skipped:
            lines.append(f"  {journey}: in one run only, not compared")
        lines.append(f"{self.kind}: {self.summary()}")
        return "\n".join(lines)

    HEADER: ClassVar[tuple[str, ...]] = (
        "journey / SLO",
        "change",
        "baseline",
        "candidate",
        "Δ (interval)",
        "test",
        "cases (worse / better)",
        "blocks",
    )

    def table(self) -> list[tuple[str, ...]]:
        """One row of text cells per SLO (columns: :attr:`HEADER`), regressions first."""
        order = sorted(
            self.comparisons,
            key=lambda c: (not c.blocks, c.change != "REGRESSED", c.change != "IMPROVED"),
        )
        rows: list[tuple[str, ...]] = []
        for c in order:
            interval = (
                f" ({_signed(c, c.lower)} … {_signed(c, c.upper)})" if c.lower is not None else ""
            )
            rows.append(
                (
                    c.label,
                    c.change,
                    _fmt(c, c.baseline),
                    _fmt(c, c.candidate),
                    f"{_signed(c, c.diff)}{interval}",
                    c.test + (f", p = {c.p_value:.3g}" if c.p_value is not None else ""),
                    f"{c.n_paired} ({c.worse} / {c.better})",
                    f"{'yes' if c.blocks else 'no'} (allowed {_drop_text(c, c.max_drop)})",
                )
            )
        return rows

    def power_lines(self) -> list[str]:
        return [f"{c.label}: {_power(c)}" for c in self.comparisons]

    def to_markdown(self) -> str:
        """A pull-request comment: a table of every SLO, regressions first."""
        icon = {"REGRESSED": "🔴", "IMPROVED": "🟢", "NO CHANGE": "⚪", "INCONCLUSIVE": "🟡"}
        out = [
            f"### cujeval {self.kind}: {_md(self.summary())}",
            "",
            f"Candidate `{_md(self.candidate_label)}` against baseline "
            f"`{_md(self.baseline_label)}`, paired by case id"
            + (", both answering every case in the same run." if self.kind == "canary" else "."),
            "",
            "| " + " | ".join(self.HEADER) + " |",
            "|" + "---|" * len(self.HEADER),
        ]
        for label, change, *cells, blocks in self.table():
            blocks = blocks.replace("yes", "**yes**", 1) if blocks.startswith("yes") else blocks
            out.append(
                f"| {_md(label)} | {icon[change]} {change} | "
                + " | ".join(_md(x) for x in cells)
                + f" | {blocks} |"
            )
        out += ["", "<details><summary>Power</summary>", ""]
        out += [f"- {_md(line)}" for line in self.power_lines()]
        out += ["", "</details>"]
        if self.changed:
            out += ["", f"<details><summary>Cases that got worse ({len(self.changed)})</summary>"]
            out += [
                "",
                "| case | input | baseline's answer | candidate's answer |",
                "|---|---|---|---|",
            ]
            out += [
                f"| {_md(c.journey)}/{_md(c.case_id)}<br>{_md(c.change)} | {_md(_cut(c.input))} "
                f"| {_md(_cut(c.baseline))} | {_md(_cut(c.candidate))} |"
                for c in self.changed
            ]
            out += ["", "</details>"]
        return "\n".join(out) + "\n"


def _cut(text: str, n: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


def _signed(c: SLOComparison, v: float | None) -> str:
    if v is None:
        return "-"
    return f"{v * 100:+.1f} pts" if c.kind != "aggregate" else f"{v:+.4g}"


def _power(c: SLOComparison) -> str:
    what = f"a drop of {_drop_text(c, c.detect)}"
    if c.cases_needed is None:
        return f"detecting {what}: {c.note or 'no estimate'}"
    enough = "enough" if c.n_paired >= c.cases_needed else "too few"
    return (
        f"detecting {what} with {POWER:.0%} power needs about {c.cases_needed} paired cases "
        f"({c.n_paired} here: {enough})"
    )


def _md(text: str) -> str:
    return html.escape(text, quote=False).replace("|", "\\|").replace("`", "'")


def _fmt(c: SLOComparison, v: float | None) -> str:
    if v is None:
        return "-"
    return f"{v:.1%}" if c.kind != "aggregate" else f"{v:.4g}"


def _drop_text(c: SLOComparison, d: float) -> str:
    return f"{d * 100:.1f} points" if c.kind != "aggregate" else f"{d:.0%}"
