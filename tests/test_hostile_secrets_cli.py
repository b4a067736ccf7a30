"""Secrets planted in every place a suite can hold one never reach any output of the real
command line: not stdout, not stderr, not a file of the run folder, not the MLflow store.

The targets are hostile servers on 127.0.0.1 that echo what they got where a real one might:
an OpenAI-style 401 with the bare key, a 500 naming the bare value inside a header built from
``${VAR}``, answers and contexts that repeat the request line and headers (a secret URL path,
query value, header and Basic credentials among them), and an MLflow tracking server whose
401 repeats the Basic credentials of the tracking URI. Each secret is looked for raw and in
the encodings clients and servers give it (URL-encoded, base64)."""

from __future__ import annotations

import base64
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest
import yaml

from tests.helpers import cujeval, write_dataset
from tests.hostile_server import Hostile, serve_hostile

KEY = "sk-plantKEY7q2"  # api_key_env
HEADER = "hdrPLANT9x4"  # ${VAR} inside a header value "pre-...-post"
TENANT = "tnPLANT 5z"  # ${VAR} in a URL path (its space URL-encoded on the wire)
PASSWORD = "pwPLANT3k+"  # ${VAR} as the URL's password (sent as Basic credentials)
QUERY = "qsPLANT8w1"  # a literal query value of a parameter not declared public
TRACKING_PASSWORD = "mlPLANT6v"  # in MLFLOW_TRACKING_URI's userinfo
ENV = {
    "PLANT_KEY": KEY,
    "PLANT_HDR": HEADER,
    "PLANT_TENANT": TENANT,
    "PLANT_PW": PASSWORD,
}


@pytest.fixture(scope="module")
def hostile() -> Iterator[Hostile]:
    with serve_hostile() as servers:
        yield servers


def forms(secret: str, user: str | None = None) -> set[str]:
    """``secret`` as it may be written: raw, URL-encoded, base64 (and the Basic credentials
    of ``user:secret``)."""
    out = {
        secret,
        quote(secret, safe=""),
        quote_plus(secret),
        base64.b64encode(secret.encode()).decode(),
    }
    if user is not None:
        out.add(base64.b64encode(f"{user}:{secret}".encode()).decode())
    return out


def outputs(proc: subprocess.CompletedProcess[str], *folders: Path) -> dict[str, str]:
    """stdout, stderr and every file under ``folders`` (bytes read as UTF-8, lenient)."""
    found = {"stdout": proc.stdout, "stderr": proc.stderr}
    for folder in folders:
        for p in folder.rglob("*"):
            if p.is_file():
                found[str(p)] = p.read_bytes().decode("utf-8", "replace")
    return found


def assert_clean(found: dict[str, str], secrets: dict[str, set[str]]) -> None:
    leaks = [
        f"{name} ({form!r}) in {where}"
        for where, text in found.items()
        for name, variants in secrets.items()
        for form in variants
        if form in text
    ]
    assert not leaks, "\n".join(leaks)


def run(
    tmp_path: Path, suite: dict[str, Any], env: dict[str, str], *flags: str
) -> subprocess.CompletedProcess[str]:
    (tmp_path / "suite.yaml").write_text(yaml.safe_dump(suite, sort_keys=False))
    return cujeval(
        "run",
        "suite.yaml",
        "--output",
        "out",
        "--no-progress",
        *flags,
        cwd=tmp_path,
        env={**os.environ, **env},
    )


def journey(name: str, target: str) -> dict[str, Any]:
    return {
        "name": name,
        "dataset": "cases.jsonl",
        "target": target,
        "scorers": ["error", "latency_s"],
        "slos": [{"name": "no-errors", "good": "error == false", "target": 0.5}],
    }


def test_planted_secrets_reach_no_output_nor_the_mlflow_store(
    tmp_path: Path, hostile: Hostile
) -> None:
    host = hostile.url.removeprefix("http://")
    write_dataset(tmp_path / "cases.jsonl", 4)
    header = {"X-Tenant-Token": "pre-${PLANT_HDR}-post"}
    suite = {
        "name": "planted",
        "targets": {
            "echo": {  # answers repeat the request line and headers
                "kind": "http",
                "url": f"http://planted-user:${{PLANT_PW}}@{host}/echo-headers/tenant/"
                f"${{PLANT_TENANT}}/answer?sig={QUERY}&lang=en",
                "public_params": ["lang"],
                "headers": header,
            },
            "errors": {  # a 500 for odd cases naming the bare header secret
                "kind": "http",
                "url": f"http://{host}/error-echo/tenant/${{PLANT_TENANT}}/answer",
                "headers": header,
            },
            "keyed": {  # a 401 naming the bare key, as OpenAI answers a wrong one
                "kind": "openai",
                "base_url": f"http://{host}/v1/bad-key",
                "model": "m",
                "api_key_env": "PLANT_KEY",
                "stream": False,
            },
        },
        "settings": {"retries": 0, "concurrency": 2},
        "journeys": [journey("echo", "echo"), journey("errors", "errors"), journey("key", "keyed")],
    }
    store = tmp_path / "mlflow"
    store.mkdir()
    env = {
        **ENV,
        "MLFLOW_TRACKING_URI": f"sqlite:///{store / 'mlflow.db'}",
    }
    proc = run(tmp_path, suite, env)
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert proc.returncode == 3, proc.stdout[-2000:] + proc.stderr[-3000:]  # the 401 aborts
    out = tmp_path / "out"
    found = outputs(proc, out, store, tmp_path / "mlruns", tmp_path / "mlartifacts")
    assert any(p.endswith("mlflow.db") for p in found) and "mlflow: run " in proc.stderr
    secrets = {
        "key": forms(KEY),
        "header": forms(HEADER),
        "tenant": forms(TENANT),
        "password": forms(PASSWORD, user="planted-user"),
        "query": forms(QUERY),
    }
    assert_clean(found, secrets)
    # the run met every echo it was built for, and shows where a secret was
    rows = [json.loads(line) for line in (out / "journal.jsonl").read_text().splitlines()]
    echo = [r["observation"] for r in rows if r["journey"] == "echo"]
    assert len(echo) == 4 and all(o["status"] == "ok" for o in echo)
    answer = echo[0]["answer"]
    assert "/echo-headers/tenant/***/answer?sig=***&lang=en" in answer
    assert "X-Tenant-Token: pre-***-post" in answer and "Authorization: Basic ***" in answer
    assert "Authorization: Basic ***" in echo[0]["contexts"][0]["text"]
    errors = [r["observation"] for r in rows if r["journey"] == "errors"]
    assert sum(o["status"] == "http_500" for o in errors) == 2
    assert any("unknown tenant token ***" in (o.get("error") or "") for o in errors)
    result = json.loads((out / "results.json").read_text())
    assert "Incorrect API key provided: ***" in result["abort_reason"]
    assert "Incorrect API key provided: ***" in proc.stderr
    echo_target = result["journeys"][0]["target"]
    assert echo_target == f"http POST http://{host}/echo-headers/tenant/***/answer?sig=***&lang=en"


def test_an_mlflow_401_that_echoes_the_tracking_credentials_leaks_nothing(
    tmp_path: Path, hostile: Hostile
) -> None:
    host = hostile.url.removeprefix("http://")
    write_dataset(tmp_path / "cases.jsonl", 3)
    suite = {
        "name": "tracked",
        "targets": {"svc": {"kind": "http", "url": f"{hostile.url}/echo"}},
        "journeys": [journey("j", "svc")],
    }
    uri = f"http://ml-user:{TRACKING_PASSWORD}@{host}/mlflow-401"
    proc = run(tmp_path, suite, {"MLFLOW_TRACKING_URI": uri})
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    found = outputs(proc, tmp_path / "out")
    assert_clean(found, {"tracking password": forms(TRACKING_PASSWORD, user="ml-user")})
    # the server did refuse with the credentials echoed, and the run said so
    assert "401" in proc.stderr and "bad credentials Basic ***" in proc.stderr
    notes = json.loads((tmp_path / "out" / "results.json").read_text())["notes"]
    assert any("error budgets not checked" in n and "Basic ***" in n for n in notes), notes


@pytest.mark.parametrize("public", [True, False])
def test_values_from_the_environment_are_secret_unless_the_suite_marks_them_public(
    tmp_path: Path, hostile: Hostile, public: bool
) -> None:
    host = hostile.url.removeprefix("http://")
    write_dataset(tmp_path / "cases.jsonl", 2)
    suite: dict[str, Any] = {
        "name": "env",
        "targets": {"svc": {"kind": "http", "url": "http://${PLANT_HOST}/echo"}},
        "journeys": [journey("j", "svc")],
    }
    if public:
        suite["public_env"] = ["PLANT_HOST"]
    proc = run(tmp_path, suite, {"PLANT_HOST": host}, "--no-mlflow")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    target = json.loads((tmp_path / "out" / "results.json").read_text())["journeys"][0]["target"]
    assert target == (f"http POST http://{host}/echo" if public else "http POST http://***/echo")
    assert (host in proc.stdout) is public


def test_public_env_must_name_variables(tmp_path: Path, hostile: Hostile) -> None:
    write_dataset(tmp_path / "cases.jsonl", 2)
    suite: dict[str, Any] = {
        "name": "env",
        "public_env": "PLANT_HOST",
        "targets": {"svc": {"kind": "http", "url": "http://${PLANT_HOST}/echo"}},
        "journeys": [journey("j", "svc")],
    }
    proc = run(tmp_path, suite, {"PLANT_HOST": "127.0.0.1:9"}, "--no-mlflow")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "suite.yaml:2: field 'public_env': must be a list of environment variable names" in (
        proc.stderr
    )
    assert "127.0.0.1:9" not in proc.stderr
