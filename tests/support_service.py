"""A small customer-support RAG service on 127.0.0.1, as a user's own would be: ``POST
/good/ask`` answers refund questions as the product wants (an apology, the refund path, a
citation of the passage it used); ``POST /broken/ask`` is the same service after a bad
release (no refund path, a promise the product forbids, an e-mail address, a dangling
citation). Both take ``{"question": ...}`` and answer ``{"answer", "contexts"}``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from aiohttp import web

from tests.servers import serve_app

PASSAGE = {
    "id": "kb-refunds",
    "text": "Refunds: within 30 days of delivery, from the Orders page (choose Refund).",
}
GOOD = (
    "Sorry for the trouble. You can get a refund within 30 days: open Orders, pick the "
    "order and choose Refund [1]."
)
BROKEN = (
    "We guarantee every order arrives. Write to help@example.com if it does not, and see "
    "our terms [4]."
)


def build() -> web.Application:
    async def ask(request: web.Request) -> web.StreamResponse:
        await request.json()
        answer = GOOD if request.match_info["mode"] == "good" else BROKEN
        return web.json_response({"answer": answer, "contexts": [PASSAGE]})

    app = web.Application()
    app.router.add_post("/{mode}/ask", ask)
    return app


@contextmanager
def support_service() -> Iterator[str]:
    """The service on a free port; yields its base URL (``/good/ask``, ``/broken/ask``)."""
    with serve_app(build()) as url:
        yield url
