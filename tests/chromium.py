"""Pages read as a browser renders them: headless Chromium loads the file under its CSP and
hands back its DOM, and the charts are read off it (each mark's numbers, each chart's scale
and where the marks were drawn)."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    pytest.skip("headless Chromium is not installed (apt-get install chromium)")


def dump_dom(page: Path) -> str:
    """The DOM Chromium built from ``page`` (scripts, had there been any, would have run)."""
    r = subprocess.run(
        [
            chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            f"--user-data-dir={page.parent / '.chromium'}",
            "--dump-dom",
            page.resolve().as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0 and "<svg" in r.stdout, r.stderr[-2000:]
    return r.stdout


@dataclass
class Chart:
    kind: str  # trend | burndown
    attrs: dict[str, str]
    marks: list[dict[str, str]] = field(default_factory=list)  # g.point / g.run, with shapes
    lines: dict[str, dict[str, str]] = field(default_factory=dict)  # by class

    def y_of(self, value: float) -> float:
        """The pixel row the chart's scale puts ``value`` at."""
        lo, hi = float(self.attrs["data-y-min"]), float(self.attrs["data-y-max"])
        top, bottom = float(self.attrs["data-top"]), float(self.attrs["data-bottom"])
        return bottom - (value - lo) / (hi - lo) * (bottom - top)


class _Charts(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.charts: dict[str, Chart] = {}
        self.chart: Chart | None = None
        self.mark: dict[str, str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        cls = a.get("class", "").split()
        if tag == "svg" and "chart" in cls:
            kind = "trend" if "trend" in cls else "burndown"
            self.chart = Chart(kind, a)
            self.charts[f"{kind}:{a['data-key']}"] = self.chart
        elif self.chart is not None and tag == "g" and {"point", "run"} & set(cls):
            self.mark = dict(a)
            self.chart.marks.append(self.mark)
        elif self.chart is not None and tag in ("circle", "rect") and self.mark is not None:
            self.mark.update({f"{tag}.{k}": v for k, v in a.items()})
        elif self.chart is not None and tag in ("line", "polyline") and a.get("class"):
            self.chart.lines[a["class"]] = a

    def handle_endtag(self, tag: str) -> None:
        if tag == "g":
            self.mark = None
        elif tag == "svg":
            self.chart = None


def charts(dom: str) -> dict[str, Chart]:
    """Every chart of the page by ``trend:journey/slo`` or ``burndown:journey/slo``."""
    parser = _Charts()
    parser.feed(dom)
    return parser.charts
