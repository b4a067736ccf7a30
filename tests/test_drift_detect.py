"""Input drift without the model: known geometry stands in for MiniLM (each text gets a
vector near its topic's centre), so these run in milliseconds and the expected topics and gaps
are known; the samples, the reader and the report are the real ones."""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from cujeval.drift import DriftResult, detect
from cujeval.drift.detect import OTHER, UNCOVERED
from cujeval.drift.inputs import read_current, read_reference
from cujeval.drift.report import console, write
from cujeval.errors import DatasetError, InputError, UnknownNameError

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "datasets" / "support_rag.jsonl"
OFFTOPIC = Path(__file__).resolve().parent / "data" / "drift" / "offtopic.jsonl"
DIM = 48


class Geometry:
    """Texts placed on purpose: a group's texts scatter around one centre (cosine about
    0.5-0.6 between members), distinct centres are near-orthogonal."""

    def __init__(self, seed: int = 0) -> None:
        self.rng = np.random.default_rng(seed)
        self.vectors: dict[str, np.ndarray] = {}
        self.next_axis = 0

    def add(self, texts: Sequence[str], spread: float = 0.8, *, scattered: bool = False) -> None:
        centre = np.zeros(DIM)
        centre[self.next_axis % DIM] = 1.0
        self.next_axis += 1
        for text in texts:
            if text in self.vectors:
                continue
            if scattered:  # each text its own direction, far from every centre
                v = self.rng.normal(size=DIM)
                v[: self.next_axis + 8] = 0.0
            else:
                v = centre + spread * self.rng.normal(size=DIM) / np.sqrt(DIM)
            self.vectors[text] = v / np.linalg.norm(v)

    def __call__(self, texts: list[str]) -> np.ndarray:
        return np.stack([self.vectors[t] for t in texts])


def world() -> Geometry:
    """The golden texts around their first tag's centre, the off-topic ones scattered."""
    texts, labels = golden()
    geo = Geometry()
    for label in sorted({str(x) for x in labels}):
        geo.add([t for t, lab in zip(texts, labels, strict=True) if str(lab) == label])
    geo.add(offtopic(), scattered=True)
    return geo


def golden() -> tuple[list[str], list[str | None]]:
    sample = read_reference(str(GOLDEN))
    labels, _ = sample.topics("tags")
    return sample.texts, labels


def offtopic() -> list[str]:
    return [json.loads(line)["input"] for line in OFFTOPIC.read_text().splitlines()]


def halves(seed: int = 3) -> tuple[list[int], list[int]]:
    order = list(range(122))
    random.Random(seed).shuffle(order)
    return order[:61], order[61:]


def test_off_topic_traffic_is_drift_and_a_coverage_gap() -> None:
    texts, labels = golden()
    ref_idx, cur_idx = halves()
    current = [texts[i] for i in cur_idx[:30]] + offtopic()[:30]
    r = detect(
        [texts[i] for i in ref_idx],
        current,
        reference_topics=[labels[i] for i in ref_idx],
        topics_source="tags",
        permutations=299,
        encoder=world(),
    )
    assert r.drift and r.exit_code == 1 and r.p_value < 0.05
    assert r.question("where") and r.test("coverage").drift
    gap_texts = {e.text for g in r.gaps for e in g.examples}
    assert gap_texts and gap_texts <= set(offtopic())
    assert sum(g.size for g in r.gaps) >= 20  # most of the 30 off-topic inputs
    uncovered = next(t for t in r.topics if t.name == UNCOVERED)
    assert uncovered.current_count == sum(g.size for g in r.gaps)
    assert uncovered.current_share > uncovered.reference_share


def test_two_halves_of_the_golden_set_are_no_drift() -> None:
    texts, labels = golden()
    ref_idx, cur_idx = halves()
    r = detect(
        [texts[i] for i in ref_idx],
        [texts[i] for i in cur_idx],
        reference_topics=[labels[i] for i in ref_idx],
        topics_source="tags",
        method="both",
        permutations=299,
        encoder=world(),
    )
    assert not r.drift and r.exit_code == 0
    assert {t.name for t in r.tests} == {
        "embedding_mmd",
        "embedding_c2st",
        "length",
        "language",
        "topic_shares",
        "coverage",
    }
    for t in r.tests:
        assert t.adjusted_p >= t.p_value and t.drift == (t.decides and t.adjusted_p < 0.05)
    assert [t.name for t in r.tests if not t.decides] == ["topic_shares"]
    assert sum(t.reference_count for t in r.topics) == 61
    assert sum(t.current_count for t in r.topics) == 61
    assert r.topics[-1].name == UNCOVERED and r.topics_source == "tags"
    # PSI's no-drift expectation (k − 1)(1/n_r + 1/n_c)
    details = r.test("topic_shares").details
    assert details["psi_no_drift"] == pytest.approx((len(r.topics) - 1) * 2 / 61)
    assert sum(t.reference_share for t in r.topics) == pytest.approx(1.0)


def test_a_new_theme_in_traffic_is_one_named_gap_group() -> None:
    texts, labels = golden()
    jira = [f"How do I sync Jira issues with Lumio, case {i}?" for i in range(12)]
    geo = world()
    geo.add(jira, spread=0.5)
    r = detect(texts, texts[:50] + jira, reference_topics=labels, permutations=199, encoder=geo)
    assert r.drift and r.test("coverage").drift
    first = r.gaps[0]
    assert first.size == 12 and first.share == pytest.approx(12 / 62)
    assert "jira" in first.keywords and not first.name.startswith("scattered")
    assert {e.text for e in first.examples} <= set(jira) and len(first.examples) == 5


def test_topic_shift_among_covered_topics_shows_in_the_shares() -> None:
    texts, labels = golden()
    billing = [t for t, label in zip(texts, labels, strict=True) if label == "billing"]
    r = detect(texts, billing * 2, reference_topics=labels, permutations=299, encoder=world())
    row = next(t for t in r.topics if t.name == "billing")
    assert row.current_share > 0.8 > row.reference_share
    assert r.test("topic_shares").p_value < 0.01 and r.psi > 0.25
    assert r.drift and r.test("embedding_mmd").drift  # the decision sees it in the embeddings
    assert not r.test("coverage").drift  # billing questions are covered


def test_without_labels_the_golden_set_is_clustered() -> None:
    texts, _ = golden()
    r = detect(texts[:60], texts[60:], permutations=99, encoder=world())
    assert r.topics_source == "embeddings"
    assert 2 <= len([t for t in r.topics if t.name not in (OTHER, UNCOVERED)]) <= 7
    named = [t for t in r.topics if t.name not in (OTHER, UNCOVERED)]
    assert all(t.keywords and t.name for t in named)


def test_length_and_language_tests() -> None:
    ref = [f"how do I change setting number {i}" for i in range(40)]
    longer = [f"{t}, and then what happens to every page and task I had open?" for t in ref]
    geo = Geometry()
    geo.add(ref + longer)
    r = detect(ref, longer, permutations=199, encoder=geo)
    assert r.test("length").drift
    assert r.words["current"]["mean"] > r.words["reference"]["mean"]
    german = [f"wie ändere ich die Einstellung Nummer {i} in meinem Konto" for i in range(40)]
    geo.add(german)
    r = detect(ref, german, permutations=199, encoder=geo)
    assert r.test("language").p_value < 0.01
    assert r.languages["current"].get("de", 0) > 30


def test_bad_arguments() -> None:
    texts, _ = golden()
    with pytest.raises(InputError, match="at least 5"):
        detect(texts, texts[:4], encoder=world())
    with pytest.raises(InputError, match="between 0 and 1"):
        detect(texts, texts, alpha=1.5, encoder=world())
    with pytest.raises(InputError, match="unknown method"):
        detect(texts, texts, method="ks", encoder=world())


def test_max_samples_caps_each_side() -> None:
    texts, labels = golden()
    r = detect(
        texts,
        texts,
        reference_topics=labels,
        max_samples=50,
        permutations=99,
        encoder=world(),
    )
    assert r.n_reference == 50 and r.n_current == 50
    assert any("random 50 of 122" in n for n in r.notes)


def test_report_files_are_self_contained_and_escaped(tmp_path: Path) -> None:
    texts, _ = golden()
    hostile = [f"<script>alert({i})</script> what is the capital of Peru {i}?" for i in range(20)]
    geo = world()
    geo.add(hostile, scattered=True)
    r = detect(texts, texts[:40] + hostile, permutations=99, encoder=geo)
    js, page = write(r, tmp_path)
    data = json.loads(js.read_text())
    assert data["drift"] == r.drift and data["exit_code"] == r.exit_code
    assert data["kind"] == "inputs" and data["schema_version"] == 1
    assert "text" not in data["projection"][0]
    html = page.read_text()
    assert "<script" not in html and "&lt;script&gt;" in html
    assert "http://" not in html.replace("http://www.w3.org/2000/svg", "")
    assert "<svg" in html and "Coverage gaps" in html
    assert "DRIFT" in console(r)


def test_result_round_trips_to_json() -> None:
    texts, _ = golden()
    r = detect(texts[:30], texts[30:60], permutations=99, encoder=world())
    assert isinstance(r, DriftResult)
    json.dumps(r.to_dict(), allow_nan=False)


# -- reading the samples --------------------------------------------------------------------------


def test_reference_from_a_suite_journey() -> None:
    sample = read_reference(f"{ROOT / 'suites' / 'support_rag.yaml'}:grounded-answer")
    assert len(sample.texts) == 122
    assert sample.topics("auto")[1] == "tags"  # 85 clusters for 122 cases: too fine
    with pytest.raises(UnknownNameError, match="grounded-answer"):
        read_reference(f"{ROOT / 'suites' / 'support_rag.yaml'}:grounded-answr")


def test_current_reads_input_question_and_chat(tmp_path: Path) -> None:
    path = tmp_path / "traffic.jsonl"
    rows = [
        {"input": "plain"},
        {"question": "a question"},
        {"input": [{"role": "user", "content": "first"}, {"role": "user", "content": "last"}]},
        {"input": "with extra fields", "answer": "ignored", "ts": 3},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n")
    assert read_current(path).texts == ["plain", "a question", "last", "with extra fields"]
    csv = tmp_path / "traffic.csv"
    csv.write_text('question,ts\n"How, exactly?",1\nWhy,2\n')
    assert read_current(csv).texts == ["How, exactly?", "Why"]


def test_current_from_a_local_hugging_face_dataset(tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    datasets.Dataset.from_dict({"question": ["one", "two", "three"]}).save_to_disk(
        str(tmp_path / "saved")
    )
    assert read_current(tmp_path / "saved").texts == ["one", "two", "three"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"input": "ok"}\nnot json\n', ":2: invalid JSON"),
        ('{"input": "ok"}\n{"answer": "no input"}\n', ":2: field 'input': is required"),
        ('{"input": "ok"}\n{"input": "   "}\n', ":2: field 'input': is empty"),
        ('{"input": 42}\n', ":1: field 'input': must be a string"),
        ('["a", "list"]\n', ":1: a row must be a JSON object"),
        ("\n\n", "no rows: the sample is empty"),
    ],
)
def test_bad_current_names_file_and_line(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "traffic.jsonl"
    path.write_text(content)
    with pytest.raises(DatasetError) as err:
        read_current(path)
    assert str(err.value).startswith(str(path))
    assert message in str(err.value)


def test_missing_files(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="no such file"):
        read_current(tmp_path / "nope.jsonl")
    with pytest.raises(DatasetError, match="no such dataset file"):
        read_reference(str(tmp_path / "nope.jsonl"))
