"""The shell of cujeval's HTML pages (a run's report.html, ``cujeval report``'s history): one
style sheet, and a CSP under which the page loads nothing and runs no script."""

from __future__ import annotations

from collections.abc import Sequence

from cujeval._util.redact import html_text as escape

CSP = "default-src 'none'; style-src 'unsafe-inline'"
_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:0;color:#1d1d1f;
background:#fafafa}main{max-width:1280px;margin:0 auto;padding:1.5em 2em}
h1{font-size:1.5em;margin:.2em 0}h2{margin:1.6em 0 .3em;padding-top:.6em;border-top:2px solid #ddd}
h3{margin:1.3em 0 .4em;font-size:1.1em}h4{margin:1em 0 .3em}
table{border-collapse:collapse;margin:.5em 0 1em;background:#fff}
td,th{border:1px solid #d8d8d8;padding:4px 8px;vertical-align:top;text-align:left}
th{background:#f0f0f0;font-weight:600}td.num{text-align:right;font-variant-numeric:tabular-nums}
.MET{color:#17692b;font-weight:600}.BREACHED{color:#b00020;font-weight:700}
.INCONCLUSIVE{color:#8a6100;font-weight:600}.NO_DATA{color:#7a1fa2;font-weight:700}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:.85em;font-weight:600}
.pass{background:#e3f4e6;color:#17692b}.warn{background:#fff3d6;color:#8a6100}
.block{background:#fde3e6;color:#b00020}.muted{color:#777}.err{color:#b00020}.why{color:#8a1c00}
.answer,.text{white-space:pre-wrap;word-break:break-word;max-width:56em}
.cases td.answer{max-width:40em}.meta{color:#444}.below{background:#fde3e6}
details{background:#fff;border:1px solid #e0e0e0;border-radius:4px;margin:.4em 0;padding:.3em .7em}
summary{cursor:pointer}dl{margin:.4em 0}dt{font-weight:600;margin-top:.4em}dd{margin:0 0 0 1.2em}
nav a{margin-right:1em}svg text{font:11px system-ui,sans-serif;fill:#333}
.spender{white-space:nowrap}.charts{display:flex;flex-wrap:wrap;gap:.6em}
.charts svg{background:#fff;border:1px solid #e0e0e0}
.bar{display:inline-block;height:9px;background:#4a7bd0;vertical-align:middle}
"""


def page(title: str, body: Sequence[str]) -> str:
    """A whole page: ``title`` (escaped here) and the ``body`` parts (HTML, escaped by the
    caller)."""
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<meta http-equiv='Content-Security-Policy' content=\"{CSP}\">"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body><main>"
        + "\n".join(body)
        + "</main></body></html>"
    )
