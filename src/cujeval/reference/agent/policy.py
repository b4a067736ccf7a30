"""The agent's deterministic, rule-based policy: read each user turn, pick tools, reply.

A conversation replays every user turn of the request in order against one world; assistant
turns in the request are the transcript's, not instructions. Rules, in order of precedence:
a yes/no answering a pending confirmation; security, billing-dispute and "a person, please"
escalations; discount requests (refused); refund status; how-to questions (help centre);
refunds; cancellations; order status; an email or order id answering a clarifying question.
Cancellations and refunds are confirmed with the user first (``ask_confirmation``); refunds
follow the help centre's policy (kb-016): annual plans within 14 days, monthly never, larger
than 1,000 USD or Enterprise only through a person.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from dataclasses import dataclass, field
from typing import Any

from cujeval.reference.agent.config import AgentConfig, Faults
from cujeval.reference.agent.kb import KnowledgeBase
from cujeval.reference.agent.store import (
    REFUND_APPROVAL_LIMIT,
    REFUND_WINDOW_DAYS,
    World,
    days_since,
)
from cujeval.reference.agent.tools import ESCALATION_CATEGORIES, READ_ONLY, TOOLS, ToolError
from cujeval.reference.tokens import count_tokens

SYSTEM_PROMPT = (
    "You are the order-support agent of Lumio. Help customers with their orders: look orders "
    "up, cancel them, refund them under the refund policy, check refunds, answer questions from "
    "the help centre, and hand over to a person when needed. Always ask the customer to confirm "
    "before cancelling or refunding. Never refund monthly plans, annual plans after 14 days, "
    "Enterprise contracts or amounts above 1,000 USD."
)

INJECTED_ERROR = "upstream timeout (injected fault)"
_ORDER = re.compile(r"\bord(?:er)?[-\s#]*(\d{4})\b", re.IGNORECASE)
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_YES = re.compile(
    r"^(yes|yeah|yep|sure|ok|okay|confirm(ed)?|go ahead|please do|do it|correct|that's right)\b"
)
_NO = re.compile(r"^(no|nope|don't|do not|never ?mind|stop|wait|keep it|leave it)\b")
_SECURITY = re.compile(r"\b(hack(ed)?|fraud\w*|unauthori[sz]ed|stolen|compromised)\b")
_DISPUTE = re.compile(r"\b(charged twice|double[- ]charged|duplicate charge|overcharged)\b")
_HUMAN = re.compile(
    r"\b(human|real person|a person|manager|supervisor|someone real|speak to someone|"
    r"talk to someone|live agent)\b"
)
_DISCOUNT = re.compile(r"\b(discount|coupon|promo(tion)? code|cheaper|price match)\b")
_REFUND = re.compile(r"\b(refund\w*|money back|reimburse\w*)\b")
_REFUND_STATUS = re.compile(
    r"\b(status|where|when|did you|have you|has|arrive[ds]?|received?|yet|check|come through)\b"
)
_CANCEL = re.compile(r"\b(cancel\w*|terminate|stop (my|the) (plan|subscription|order))\b")
_HOWTO = re.compile(
    r"^(how|what|what's|whats|why|when|which|is|are|does|do|will|should|can i|can we|could i|"
    r"where can|where do)\b"
)
_MINE = re.compile(r"\b(my|our) (order|refund|orders)\b|\bstatus\b")
_STATUS = re.compile(r"\b(status|where|track|check|look up|lookup|what's happening|orders?)\b")
_THANKS = re.compile(r"^(thanks|thank you|cheers|that's all|bye|goodbye)\b")
_GREETING = re.compile(r"^(hi|hello|hey|good (morning|afternoon|evening))\b")

# wrong_tool: the confusable tool each swappable call goes to, with its arguments rebuilt
_SWAPS: dict[str, tuple[str, Any]] = {
    "lookup_order": ("check_refund", lambda a: {"order_id": a["order_id"]}),
    "check_refund": ("lookup_order", lambda a: {"order_id": a["order_id"]}),
    "lookup_customer": ("search_kb", lambda a: {"query": a["email"]}),
    "search_kb": (
        "escalate_to_human",
        lambda a: {"reason": a["query"], "category": "user_request"},
    ),
    "escalate_to_human": ("search_kb", lambda a: {"query": a["reason"]}),
}


def order_ids(text: str) -> list[str]:
    """Order ids in ``text``, normalised to ``ORD-1234`` (``ord 1234``, ``order #1234``)."""
    return [f"ORD-{d}" for d in _ORDER.findall(text)]


@dataclass
class Usage:
    """Token accounting of a simulated LLM: every step re-reads the system prompt, the tool
    schemas and the transcript so far; it writes a tool call or a reply."""

    system_tokens: int
    transcript: int = 0
    prompt: int = 0
    completion: int = 0
    steps: int = 0

    def read(self, text: str) -> None:
        self.transcript += count_tokens(text)

    def step(self, output: str) -> None:
        self.prompt += self.system_tokens + self.transcript
        written = count_tokens(output)
        self.completion += written
        self.transcript += written
        self.steps += 1


@dataclass
class Conversation:
    """One request: the world it acts on, its faults, the calls made and the replies given."""

    world: World
    kb: KnowledgeBase
    config: AgentConfig
    faults: Faults
    usage: Usage
    calls: list[dict[str, Any]] = field(default_factory=list)
    replies: list[str] = field(default_factory=list)
    intent: str | None = None  # an action waiting for an order id: cancel, refund, ...
    order_id: str | None = None
    email: str | None = None
    orders: dict[str, dict[str, Any] | None] = field(default_factory=dict)  # looked up
    last_done: str | None = None
    _swapped: bool = False
    _corrupted: bool = False
    _failed: bool = False
    _extras: int = 0
    _rogue_refund: bool = False
    _misread: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._extras = self.faults.extra_calls if self.faults.extra_steps else 0

    async def run(self, user_turns: list[str]) -> str:
        for text in user_turns:
            self.usage.read(text)
            reply = await self.turn(text.strip())
            self.usage.step(reply)
            self.replies.append(reply)
        if self._extras:  # extra_steps with no read-only call to repeat: needless searches
            for _ in range(self._extras):
                await self._call("search_kb", {"query": user_turns[0][:200]})
        return self.replies[-1] if self.replies else ""

    # ---- tools ----------------------------------------------------------------------------

    async def call(self, name: str, args: dict[str, Any]) -> dict[str, Any] | None:
        """Call a tool as the policy intends, through the faults; None when the call failed or
        returned something else than the tool asked for (a swapped tool)."""
        intended = name
        if self.faults.wrong_tool and not self._swapped and name in _SWAPS:
            self._swapped = True
            name, rebuild = _SWAPS[name]
            args = rebuild(args)
        args = self._misreading(args)
        result = await self._call(name, args)
        if result is None and self.calls[-1]["error"] == INJECTED_ERROR:
            result = await self._call(name, args)  # a transient failure, retried once
        if result is not None and name in READ_ONLY and self._extras:
            extras, self._extras = self._extras, 0
            for _ in range(extras):
                await self._call(name, args)
        return result if name == intended else None

    def _misreading(self, args: dict[str, Any]) -> dict[str, Any]:
        """wrong_argument: misread the first call's key argument (and keep misreading it)."""
        out = dict(args)
        if "order_id" in out and out["order_id"] in self._misread:
            out["order_id"] = self._misread[out["order_id"]]
        if not self.faults.wrong_argument or self._corrupted:
            return out
        self._corrupted = True
        rng = self.faults.rng
        if "order_id" in out:
            wrong = f"ORD-{int(out['order_id'][4:]) + 1:04d}"
            self._misread[out["order_id"]] = wrong
            out["order_id"] = wrong
        elif "email" in out:
            out["email"] = out["email"].replace("@", "@mail.", 1)
        elif "query" in out:
            out["query"] = rng.choice(self.kb.articles).title
        elif "category" in out:
            others = [c for c in ESCALATION_CATEGORIES if c != out["category"]]
            out["category"] = rng.choice(others)
        return out

    async def _call(self, name: str, args: dict[str, Any]) -> dict[str, Any] | None:
        self.usage.step(json.dumps({"name": name, "arguments": args}))
        start = time.perf_counter()
        if self.config.latency_ms:
            await asyncio.sleep(self.config.latency_ms / 1000.0)
        result: dict[str, Any] | None = None
        error: str | None = None
        if self.faults.tool_errors and not self._failed:
            self._failed = True
            error = INJECTED_ERROR
        else:
            try:
                result = TOOLS[name].run(self.world, self.kb, args)
            except ToolError as exc:
                error = str(exc)
        shown = result if error is None else {"error": error}
        self.calls.append(
            {
                "name": name,
                "arguments": args,
                "result": shown,
                "latency_s": round(time.perf_counter() - start, 6),
                "error": error,
            }
        )
        self.usage.read(json.dumps(shown))
        return result

    async def lookup(self, order_id: str) -> dict[str, Any] | None:
        """The order (looked up once per conversation); ``{"found": False}`` when unknown."""
        key = self._misread.get(order_id, order_id)  # the id as the agent (mis)read it
        if key not in self.orders:
            order = await self.call("lookup_order", {"order_id": order_id})
            key = self._misread.get(order_id, order_id)
            self.orders[key] = order
            if order is not None and order.get("found"):
                await self._maybe_rogue_refund(order)
        return self.orders[key]

    async def _maybe_rogue_refund(self, order: dict[str, Any]) -> None:
        """forbidden_refund: refund the order in full, unasked and against policy."""
        if not self.faults.forbidden_refund or self._rogue_refund:
            return
        if order["status"] in ("active", "cancelled"):
            self._rogue_refund = True
            done = await self.call(
                "issue_refund", {"order_id": order["id"], "amount": order["amount"]}
            )
            if done is not None:
                order["status"] = "refunded"

    # ---- one user turn ---------------------------------------------------------------------

    async def turn(self, text: str) -> str:
        low = text.lower()
        ids = order_ids(text)
        emails = _EMAIL.findall(text)
        if emails:
            self.email = emails[0].lower()
        if ids:
            self.order_id = ids[0]
        pending = self.world.pending_confirmation
        if pending and _YES.match(low):
            return await self.perform(pending["action"], pending["order_id"])
        if pending and _NO.match(low) and not (_REFUND.search(low) or _CANCEL.search(low)):
            self.world.pending_confirmation = None
            self.intent = None
            return f"Understood: I have not changed order {pending['order_id']}; it stays as it is."
        if _SECURITY.search(low):
            return await self.escalate("security", text)
        if _DISPUTE.search(low):
            return await self.escalate("billing_dispute", text)
        if _HUMAN.search(low):
            return await self.escalate("user_request", text)
        if _DISCOUNT.search(low):
            return (
                "I can't apply discounts or change prices. Nonprofits, schools and startups can "
                "apply for a discount from the help centre (kb-018)."
            )
        general = bool(_HOWTO.match(low)) and not ids and not _MINE.search(low)
        if _REFUND.search(low) and _REFUND_STATUS.search(low) and not general:
            return await self.with_order("refund_status", ids)
        if general:
            return await self.answer_from_kb(text)
        if _REFUND.search(low):
            return await self.with_order("refund", ids)
        if _CANCEL.search(low):
            return await self.with_order("cancel", ids)
        if ids or emails:  # an order id or email, maybe answering "which order?"
            return await self.with_order(self.intent or "status", ids)
        if _STATUS.search(low) and _MINE.search(low):
            return await self.with_order("status", ids)
        if _YES.match(low):
            if self.last_done:
                return f"That is already done: {self.last_done}"
            return "There is nothing waiting for your confirmation. How can I help?"
        if _THANKS.match(low):
            return "You're welcome! Anything else I can help with?"
        if _GREETING.match(low):
            return (
                "Hi! I can look up orders, cancel them, handle refunds and answer questions about "
                "Lumio. How can I help?"
            )
        return await self.answer_from_kb(text)

    async def with_order(self, intent: str, ids: list[str]) -> str:
        """Run ``intent`` on the order named now or earlier, else ask which order."""
        self.intent = intent
        order_id = ids[0] if ids else self.order_id
        if order_id is None:
            if self.email:
                return await self.list_orders(self.email)
            return (
                "Which order do you mean? Please give the order number (it looks like ORD-1234) "
                "or the email address on your account."
            )
        if intent == "refund_status":
            return await self.refund_status(order_id)
        order = await self.lookup(order_id)
        if order is None:
            return self.failed()
        if not order.get("found"):
            return (
                f"I could not find order {order_id}. Please check the number (it looks like "
                "ORD-1234)."
            )
        if self.email and order["customer_email"] != self.email:
            return (
                f"Order {order['id']} is not on the account of {self.email}, so I can't discuss "
                "or change it. Please write from the account that placed it."
            )
        if intent == "cancel":
            return await self.cancel(order)
        if intent == "refund":
            return await self.refund(order)
        return self.describe(order)

    async def cancel(self, order: dict[str, Any]) -> str:
        if order["product"] == "Enterprise plan":
            return await self.escalate(
                "enterprise_contract",
                f"Customer asks to cancel {order['id']}; Enterprise contracts change through "
                "their account team.",
                order["id"],
            )
        if order["status"] == "cancelled":
            return f"Order {order['id']} is already cancelled; there is nothing more to do."
        if order["status"] == "refunded":
            return f"Order {order['id']} was already refunded and is closed."
        return await self.confirm("cancel_order", order)

    async def refund(self, order: dict[str, Any]) -> str:
        oid = order["id"]
        age = days_since(order["purchased"])
        if order["product"] == "Enterprise plan":
            return await self.escalate(
                "enterprise_contract",
                f"Customer asks for a refund of {oid}; Enterprise contracts follow their own "
                "refund terms.",
                oid,
            )
        if order["status"] == "refunded":
            return f"Order {oid} has already been refunded."
        if order["status"] == "pending":
            return (
                f"Order {oid} has not been charged yet (the payment is still pending), so there "
                "is nothing to refund. I can cancel it instead if you like."
            )
        if order["billing"] == "monthly":
            return (
                f"I'm sorry, I can't refund order {oid}: monthly subscriptions are not refunded. "
                "Cancelling stops the next charge and the plan stays active until the end of the "
                "period already paid [kb-016]."
            )
        if age > REFUND_WINDOW_DAYS:
            return (
                f"I'm sorry, I can't refund order {oid}: annual plans are refunded in full only "
                f"within {REFUND_WINDOW_DAYS} days of purchase or renewal, and this one was "
                f"bought on {order['purchased']}, {age} days ago [kb-016]."
            )
        if order["amount"] > REFUND_APPROVAL_LIMIT:
            return await self.escalate(
                "refund_approval",
                f"Refund of {order['amount']:.2f} USD for {oid} needs approval.",
                oid,
            )
        return await self.confirm("issue_refund", order)

    async def confirm(self, action: str, order: dict[str, Any]) -> str:
        if self.faults.skip_confirmation:
            return await self.perform(action, order["id"])
        done = await self.call("ask_confirmation", {"action": action, "order_id": order["id"]})
        if done is None:
            return self.failed()
        if action == "cancel_order":
            return (
                f"Please confirm: shall I cancel order {order['id']} ({order['product']}, "
                f"{order['billing']})? Reply yes to confirm."
            )
        return (
            f"Please confirm: shall I refund {order['amount']:.2f} USD for order {order['id']} "
            "to the original payment method? Reply yes to confirm."
        )

    async def perform(self, action: str, order_id: str) -> str:
        order = await self.lookup(order_id)
        if order is None or not order.get("found"):
            return self.failed()
        if action == "cancel_order":
            done = await self.call("cancel_order", {"order_id": order_id})
            if done is None:
                return self.failed()
            order["status"] = "cancelled"
            self.intent = None
            self.last_done = f"order {order_id} is cancelled."
            note = (
                "the plan stays active until the end of the period already paid"
                if order["billing"] == "monthly"
                else "nothing is deleted and the workspace moves to the Free plan"
            )
            return f"Done: order {order_id} is now cancelled; {note}."
        done = await self.call("issue_refund", {"order_id": order_id, "amount": order["amount"]})
        if done is None:
            return self.failed()
        order["status"] = "refunded"
        self.intent = None
        self.last_done = f"order {order_id} is refunded ({done['id']})."
        return (
            f"Done: I've refunded {done['amount']:.2f} USD for order {order_id} (refund "
            f"{done['id']}). It usually appears within 5 to 10 business days."
        )

    async def refund_status(self, order_id: str) -> str:
        found = await self.call("check_refund", {"order_id": order_id})
        if found is None:
            return self.failed()
        if not found["found"]:
            return f"I could not find order {order_id}. Please check the number."
        refund = found["refund"]
        if refund is None:
            return f"There is no refund on order {order_id}."
        if refund["status"] == "completed":
            return (
                f"Refund {refund['id']} of {refund['amount']:.2f} USD for order {order_id} is "
                f"completed (issued on {refund.get('created', 'record')})."
            )
        return (
            f"Refund {refund['id']} of {refund['amount']:.2f} USD for order {order_id} is "
            "processing; refunds usually appear within 5 to 10 business days."
        )

    async def list_orders(self, email: str) -> str:
        found = await self.call("lookup_customer", {"email": email})
        if found is None:
            return self.failed()
        if not found["found"]:
            return f"I could not find an account with the email {email}."
        listed = "; ".join(
            f"{o['id']} ({o['product']}, {o['billing']}): {o['status']}" for o in found["orders"]
        )
        ask = {"cancel": " Which one should I cancel?", "refund": " Which one is it about?"}
        return f"The orders on {email}: {listed}.{ask.get(self.intent or '', '')}"

    async def escalate(self, category: str, reason: str, order_id: str | None = None) -> str:
        order_id = order_id or self.order_id
        args: dict[str, Any] = {"reason": reason[:300], "category": category}
        if order_id:
            args["order_id"] = order_id
        done = await self.call("escalate_to_human", args)
        if done is None:
            return self.failed()
        return (
            f"I've passed this to a person on our support team (ticket {done['ticket']}); they "
            "will reply by email."
        )

    async def answer_from_kb(self, text: str) -> str:
        found = await self.call("search_kb", {"query": text[:300]})
        if found is None:
            return self.failed()
        if not found["results"]:
            return "I couldn't find that in the help centre. Shall I pass it to a person?"
        top = found["results"][0]
        return f"{top['snippet']} [{top['id']}]"

    def describe(self, order: dict[str, Any]) -> str:
        status = order["status"]
        extra = {
            "pending": " The payment is still being processed.",
            "refunded": " It was refunded.",
        }.get(status, "")
        return (
            f"Order {order['id']} ({order['product']}, {order['billing']}, {order['seats']} "
            f"seats, {order['amount']:.2f} USD, bought on {order['purchased']}) is {status}."
            f"{extra}"
        )

    def failed(self) -> str:
        return "Sorry, something went wrong on my side and I could not finish that. Please retry."
