"""JUnit XML: one testsuite per journey, one testcase per SLO (BREACHED fails; INCONCLUSIVE
fails only under the strict policy, else it is reported as skipped with its reason)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from cujeval.reporters.format import sentence
from cujeval.results import RunResult


def write(result: RunResult, directory: Path) -> Path:
    strict = "strict" in result.gate.policy
    root = ET.Element("testsuites", name=f"cujeval {result.suite}")
    for journey in result.journeys:
        failures = skipped = 0
        suite = ET.SubElement(root, "testsuite", name=f"{result.suite}.{journey.name}")
        for slo in journey.slos:
            case = ET.SubElement(
                suite, "testcase", classname=f"{result.suite}.{journey.name}", name=slo.name
            )
            text = sentence(journey.name, slo)
            failing = slo.verdict == "BREACHED" or (slo.verdict == "INCONCLUSIVE" and strict)
            if failing and slo.blocking:
                failures += 1
                ET.SubElement(case, "failure", message=text, type=slo.verdict).text = text
            elif slo.verdict != "MET":
                skipped += 1
                ET.SubElement(case, "skipped", message=text)
            ET.SubElement(case, "system-out").text = text
        suite.set("tests", str(len(journey.slos)))
        suite.set("failures", str(failures))
        suite.set("skipped", str(skipped))
        suite.set("errors", "0")
    path = directory / "junit.xml"
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
    return path
