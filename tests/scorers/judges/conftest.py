"""Fixtures of the judge tests: the scripted judge and the real llama.cpp server."""

from tests.judge_server import fake_judge, llama_server_url

__all__ = ["fake_judge", "llama_server_url"]
