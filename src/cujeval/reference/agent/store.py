"""The store the reference agent owns: customers, orders, refunds and escalations.

Every world starts as a deep copy of :data:`SEED`, so cases running at the same time never see
each other's side effects. ``TODAY`` is fixed so refund windows do not drift with the clock.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import date
from typing import Any

TODAY = date(2025, 3, 20)
REFUND_WINDOW_DAYS = 14  # annual plans, full refund (kb-016)
REFUND_APPROVAL_LIMIT = 1000.0  # larger refunds need a human's approval

CUSTOMERS: tuple[dict[str, str], ...] = (
    {"id": "cus-01", "name": "Ana Silva", "email": "ana.silva@example.com"},
    {"id": "cus-02", "name": "Ben Okafor", "email": "ben@okafor.example"},
    {"id": "cus-03", "name": "Chloé Martin", "email": "chloe.martin@example.org"},
    {"id": "cus-04", "name": "Dev Patel", "email": "dev.patel@example.net"},
    {"id": "cus-05", "name": "Emma Larsen", "email": "emma@larsen.example"},
    {"id": "cus-06", "name": "Farid Haddad", "email": "farid.haddad@example.com"},
)


def _order(
    oid: str, customer: str, product: str, billing: str, seats: int, amount: float, bought: str
) -> dict[str, Any]:
    return {
        "id": oid,
        "customer_id": customer,
        "product": product,
        "billing": billing,
        "seats": seats,
        "amount": amount,
        "currency": "USD",
        "purchased": bought,
        "status": "active",
    }


ORDERS: tuple[dict[str, Any], ...] = (
    _order("ORD-1001", "cus-01", "Plus plan", "annual", 5, 480.0, "2025-03-14"),
    _order("ORD-1002", "cus-01", "Lumio AI add-on", "monthly", 5, 40.0, "2025-03-02"),
    _order("ORD-1003", "cus-02", "Business plan", "monthly", 12, 216.0, "2025-03-10"),
    _order("ORD-1004", "cus-02", "Business plan", "annual", 12, 2160.0, "2024-12-01"),
    {
        **_order("ORD-1005", "cus-03", "Plus plan", "annual", 3, 288.0, "2025-03-18"),
        "status": "pending",
    },
    {
        **_order("ORD-1006", "cus-03", "Plus plan", "monthly", 3, 30.0, "2025-01-15"),
        "status": "cancelled",
    },
    _order("ORD-1007", "cus-04", "Business plan", "annual", 25, 4500.0, "2025-03-12"),
    {
        **_order("ORD-1008", "cus-04", "Plus plan", "annual", 2, 192.0, "2025-02-01"),
        "status": "refunded",
    },
    _order("ORD-1009", "cus-05", "Plus plan", "annual", 8, 768.0, "2025-02-20"),
    {
        **_order("ORD-1010", "cus-05", "Lumio AI add-on", "annual", 8, 576.0, "2025-03-15"),
        "status": "refunded",
    },
    _order("ORD-1011", "cus-06", "Enterprise plan", "annual", 60, 16200.0, "2025-03-11"),
    {
        **_order("ORD-1012", "cus-02", "Plus plan", "monthly", 1, 10.0, "2025-03-19"),
        "status": "pending",
    },
)

REFUNDS: tuple[dict[str, Any], ...] = (
    {
        "id": "RF-5001",
        "order_id": "ORD-1008",
        "amount": 192.0,
        "status": "completed",
        "created": "2025-02-05",
    },
    {
        "id": "RF-5002",
        "order_id": "ORD-1010",
        "amount": 576.0,
        "status": "processing",
        "created": "2025-03-18",
    },
)


@dataclass
class World:
    """One isolated copy of the store, changed only by the tools of one conversation."""

    id: str
    customers: dict[str, dict[str, str]]
    orders: dict[str, dict[str, Any]]
    refunds: list[dict[str, Any]]
    escalations: list[dict[str, Any]] = field(default_factory=list)
    new_refunds: list[dict[str, Any]] = field(default_factory=list)
    pending_confirmation: dict[str, str] | None = None

    @classmethod
    def fresh(cls, world_id: str) -> World:
        """A deep copy of the seed store."""
        return cls(
            id=world_id,
            customers={c["id"]: dict(c) for c in CUSTOMERS},
            orders={o["id"]: copy.deepcopy(o) for o in ORDERS},
            refunds=[dict(r) for r in REFUNDS],
        )

    def customer_by_email(self, email: str) -> dict[str, str] | None:
        wanted = email.strip().lower()
        return next((c for c in self.customers.values() if c["email"] == wanted), None)

    def refund_of(self, order_id: str) -> dict[str, Any] | None:
        return next((r for r in reversed(self.refunds) if r["order_id"] == order_id), None)

    def state(self) -> dict[str, Any]:
        """What a scorer checks: every order's status, the refunds issued and escalations
        opened in this world, and any action still awaiting the user's confirmation."""
        return {
            "world": self.id,
            "orders": {oid: {"status": o["status"]} for oid, o in sorted(self.orders.items())},
            "refunds": [dict(r) for r in self.new_refunds],
            "escalations": [dict(e) for e in self.escalations],
            "pending_confirmation": (
                dict(self.pending_confirmation) if self.pending_confirmation else None
            ),
        }


def days_since(iso_day: str) -> int:
    return (TODAY - date.fromisoformat(iso_day)).days
