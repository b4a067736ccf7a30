"""Commands in modules of their own; each registers on ``cujeval.cli.app`` when imported
(``cujeval.cli.COMMAND_MODULES`` lists them) and imports only typer and the standard library
at the top, so ``cujeval --help`` stays fast.

``python -m cujeval.cli`` runs the CLI module as ``__main__``: importing ``cujeval.cli`` from
here would then load a second copy whose ``app`` the running CLI never sees. Alias it first.
"""

from __future__ import annotations

import sys

_main = sys.modules.get("__main__")
if (
    "cujeval.cli" not in sys.modules
    and _main is not None
    and getattr(_main, "__spec__", None) is not None
    and getattr(_main.__spec__, "name", None) == "cujeval.cli"
):
    sys.modules["cujeval.cli"] = _main
