"""JUnit XML: one testsuite per journey, one testcase per SLO. An SLO the gate blocks on fails;
one it warns on (INCONCLUSIVE, by default) passes with the warning in its output, as it does
under pytest's ``--junitxml``; each carries the same properties there and here (verdict, the
gate's action and reason, the figures); the gate decision is read, never recomputed. Scorer
errors and an incomplete run show as errors of the journey. Every text and attribute is
redacted and fit for XML 1.0 (a NUL or U+FFFE from a target's error body would make the file
unreadable to CI)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from cujeval._util.redact import xml_text
from cujeval.reporters.format import sentence, slo_properties
from cujeval.spec.results import RunResult


def write(result: RunResult, directory: Path) -> Path:
    result = result.redacted()
    gate = result.gate
    root = ET.Element("testsuites", name=f"cujeval {result.suite}")
    for journey in result.journeys:
        failures = errors = 0
        suite = ET.SubElement(root, "testsuite", name=f"{result.suite}.{journey.name}")
        classname = f"{result.suite}.{journey.name}"
        for slo in journey.slos:
            case = ET.SubElement(suite, "testcase", classname=classname, name=slo.name)
            text = sentence(journey.name, slo)
            entry = next(
                (g for g in gate.slos if g.journey == journey.name and g.slo == slo.name), None
            )
            action = entry.action if entry is not None else "pass"
            props = ET.SubElement(case, "properties")
            for name, value in slo_properties(slo, action, entry.reason if entry else ""):
                ET.SubElement(props, "property", name=name, value=str(value))
            if action == "block":
                failures += 1
                ET.SubElement(case, "failure", message=text, type=slo.verdict).text = text
            ET.SubElement(case, "system-out").text = (
                f"warning: {text}" if action == "warn" else text
            )
        problems = []
        if journey.scorer_errors:
            problems.append(
                "scorer errors: "
                + ", ".join(f"{k} {v}" for k, v in journey.scorer_errors.items())
                + f" (gate policy: {gate.policy})"
            )
        if result.status == "aborted":
            problems.append(f"run incomplete: {result.abort_reason}")
        if problems:
            errors += 1
            case = ET.SubElement(suite, "testcase", classname=classname, name="run")
            text = "; ".join(problems)
            ET.SubElement(case, "error", message=text, type="cujeval").text = text
        suite.set("tests", str(len(journey.slos) + (1 if problems else 0)))
        suite.set("failures", str(failures))
        suite.set("skipped", "0")
        suite.set("errors", str(errors))
    _fit(root)
    path = directory / "junit.xml"
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
    return path


def _fit(root: ET.Element) -> None:
    """Every text, tail and attribute of the tree through :func:`cujeval._util.redact.xml_text`."""
    for el in root.iter():
        if el.text:
            el.text = xml_text(el.text)
        if el.tail:
            el.tail = xml_text(el.tail)
        for name, value in el.attrib.items():
            el.set(name, xml_text(value))
