"""JUnit XML: one testsuite per journey, one testcase per SLO. An SLO the gate blocks on fails;
one it warns on is skipped with its reason; the gate decision is read, never recomputed. Scorer
errors and an incomplete run show as errors of the journey. Every text and attribute is
redacted and fit for XML 1.0 (a NUL or U+FFFE from a target's error body would make the file
unreadable to CI)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from cujeval._util.redact import xml_text
from cujeval.reporters.format import sentence
from cujeval.spec.results import RunResult


def write(result: RunResult, directory: Path) -> Path:
    result = result.redacted()
    gate = result.gate
    root = ET.Element("testsuites", name=f"cujeval {result.suite}")
    for journey in result.journeys:
        failures = skipped = errors = 0
        suite = ET.SubElement(root, "testsuite", name=f"{result.suite}.{journey.name}")
        classname = f"{result.suite}.{journey.name}"
        for slo in journey.slos:
            case = ET.SubElement(suite, "testcase", classname=classname, name=slo.name)
            text = sentence(journey.name, slo)
            action = gate.action(journey.name, slo.name)
            if action == "block":
                failures += 1
                ET.SubElement(case, "failure", message=text, type=slo.verdict).text = text
            elif action == "warn":
                skipped += 1
                ET.SubElement(case, "skipped", message=text)
            ET.SubElement(case, "system-out").text = text
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
        suite.set("skipped", str(skipped))
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
