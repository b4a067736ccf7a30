"""``cujeval cache``: where the LLM judge's answers are cached, and emptying that cache."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cujeval.cli.app import _guard, app

cache_app = typer.Typer(help="The LLM judge's answer cache.", no_args_is_help=True)
app.add_typer(cache_app, name="cache")

SuiteOpt = Annotated[
    Path | None,
    typer.Option("--suite", help="Take the cache folder from this suite's judge.cache_dir."),
]
DirOpt = Annotated[
    Path | None,
    typer.Option("--dir", help="The cache folder (default: the user cache directory)."),
]


def _directory(suite: Path | None, directory: Path | None) -> Path | None:
    """The folder meant: --dir, else the suite's judge.cache_dir (None when the suite turns
    the cache off), else the default."""
    from cujeval._util.paths import default_cache_dir
    from cujeval.errors import InputError

    if suite is not None and directory is not None:
        raise InputError("give --suite or --dir, not both", field="--dir")
    if directory is not None:
        return directory
    if suite is not None:
        from cujeval.spec.judge import JudgeConfig
        from cujeval.spec.suite import load_suite

        loaded = load_suite(suite)
        if loaded.judge is None:
            raise InputError("the suite has no judge: block", file=suite, field="judge")
        folder = JudgeConfig.from_mapping(loaded.judge, file=suite).cache_dir
        return Path(folder) if folder is not None else None
    return Path(default_cache_dir())


@cache_app.command("clear")
def clear(suite: SuiteOpt = None, directory: DirOpt = None) -> None:
    """Empty the judge's cache: the next run asks the judge again."""

    def go() -> int:
        from cujeval.scorers.judges import cache

        folder = _directory(suite, directory)
        if folder is None:
            print("the suite's judge has no cache (cache_dir: null): nothing to clear")
            return 0
        removed = cache.clear(folder)
        print(f"removed {removed} cached judge answer{'s' if removed != 1 else ''} from {folder}")
        return 0

    _guard(go)


@cache_app.command("info")
def info(suite: SuiteOpt = None, directory: DirOpt = None) -> None:
    """Where the judge's cache is, how many answers it holds and its size on disk."""

    def go() -> int:
        from cujeval.scorers.judges import cache

        folder = _directory(suite, directory)
        if folder is None:
            print("the suite's judge has no cache (cache_dir: null)")
            return 0
        found = cache.info(folder)
        print(f"{found['path']}: {found['entries']} answers, {found['bytes']:,} bytes")
        return 0

    _guard(go)
