"""The launcher and the ``python -m cujeval.reference`` command line."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from cujeval.errors import InputError, RunAborted, UnknownNameError
from cujeval.reference.__main__ import build_parser, config_from_args
from cujeval.reference.corpus import default_corpus_path
from cujeval.reference.launch import RunningService, fault_args, rag_command, start_rag_service

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO / "datasets" / "helpcentre" / "articles.jsonl"


def test_fault_args_map_names_to_flags() -> None:
    args = fault_args({"latency_ms": 50, "error_rate": 0.25, "seed": 7.0})
    assert args == ["--latency-ms", "50.0", "--error-rate", "0.25", "--seed", "7"]
    assert fault_args(None) == []


def test_fault_args_reject_unknown_names_with_a_suggestion() -> None:
    with pytest.raises(UnknownNameError, match="did you mean 'error_rate'"):
        fault_args({"error_rte": 0.1})


@pytest.mark.parametrize(
    "faults",
    [
        {"error_rate": 1.5},
        {"drop_contexts": -0.1},
        {"latency_ms": -1},
        {"seed": 0.5},
        {"seed": float("nan")},
    ],
)
def test_fault_args_reject_bad_values(faults: dict[str, float]) -> None:
    with pytest.raises(InputError):
        fault_args(faults)


def test_cli_flags_become_the_config() -> None:
    args = build_parser().parse_args(
        [
            "rag",
            "--corpus",
            str(CORPUS),
            "--top-k",
            "3",
            "--latency-ms",
            "20",
            "--error-rate",
            "0.1",
            "--hallucination-rate",
            "0.2",
            "--drop-contexts",
            "0.3",
            "--seed",
            "9",
            "--model-name",
            "m",
        ]
    )
    config = config_from_args(args)
    assert (config.corpus, config.top_k, config.model_name) == (CORPUS, 3, "m")
    assert (config.latency_ms, config.error_rate) == (20.0, 0.1)
    assert (config.hallucination_rate, config.drop_contexts, config.seed) == (0.2, 0.3, 9)
    assert (args.host, args.port) == ("127.0.0.1", 8765)


def test_cli_defaults_to_the_bundled_corpus() -> None:
    config = config_from_args(build_parser().parse_args(["rag"]))
    assert config.corpus == default_corpus_path()
    assert config.corpus == REPO / "datasets" / "helpcentre" / "articles.jsonl"


def test_missing_corpus_fails_fast_with_the_service_output(tmp_path: Path) -> None:
    with pytest.raises(RunAborted) as info:
        start_rag_service(corpus=tmp_path / "absent.jsonl", ready_timeout_s=60)
    message = str(info.value)
    assert "exited with code 2" in message
    assert "corpus file not found" in message
    assert "absent.jsonl" in message


def test_rag_command_runs_the_module_with_fault_flags(tmp_path: Path) -> None:
    command = rag_command(faults={"hallucination_rate": 1}, corpus=tmp_path / "c.jsonl")
    assert command == [
        sys.executable,
        "-m",
        "cujeval.reference",
        "rag",
        "--hallucination-rate",
        "1.0",
        "--corpus",
        str((tmp_path / "c.jsonl").resolve()),
    ]


def spawn(code: str) -> RunningService:
    log = tempfile.TemporaryFile()  # noqa: SIM115 closed by RunningService.stop()
    process = subprocess.Popen([sys.executable, "-c", code], stdout=log, stderr=log)
    return RunningService(process, 1, log)


def test_stop_terminates_and_is_idempotent() -> None:
    with spawn("import time; time.sleep(60)") as s:
        assert s.url == "http://127.0.0.1:1"
        assert s.process.poll() is None
    assert s.process.returncode is not None and s.process.returncode != 0
    s.stop()


def test_stop_kills_a_service_that_ignores_terminate() -> None:
    code = (
        "import signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        "print('ready', flush=True); time.sleep(60)"
    )
    service = spawn(code)
    while "ready" not in service.stderr_tail():
        assert service.process.poll() is None
        time.sleep(0.01)
    service.stop(grace_s=0.2)
    assert service.process.returncode == -9
