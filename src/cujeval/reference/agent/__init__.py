"""The bundled reference agent: an order-support agent over a store it owns, served over HTTP.

``start_agent_service(faults=...)`` runs it as a subprocess on 127.0.0.1 (see ``launch``);
``create_app(AgentConfig(...))`` builds the FastAPI app in-process (see ``app``).
"""

from __future__ import annotations

from cujeval.reference.agent.config import AGENT_RATE_NAMES, AgentConfig
from cujeval.reference.agent.launch import AGENT_FAULT_FLAGS, agent_command, start_agent_service

__all__ = [
    "AGENT_FAULT_FLAGS",
    "AGENT_RATE_NAMES",
    "AgentConfig",
    "agent_command",
    "start_agent_service",
]
