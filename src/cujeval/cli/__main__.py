"""``python -m cujeval.cli``: the ``cujeval`` command."""

from cujeval.cli import main

main()
