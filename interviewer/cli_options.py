"""Command-line options over the project's enums, refused in plain words.

typer 0.29 validates an enum option through pydantic and prints its message as is ("Value
error, 'expert' is not one of ..."); these options parse the value themselves, in any case.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import Any, TypeVar

import typer

E = TypeVar("E", bound=StrEnum)


def enum_parser(kind: type[E]) -> Callable[[str | E], E]:
    """Parse one of ``kind``'s values (any case, spaces around allowed); refuse anything else
    with the values listed."""
    names = [member.value for member in kind]

    def parse(value: str | E) -> E:
        if isinstance(value, kind):
            return value
        try:
            return kind(str(value).strip().lower())
        except ValueError:
            raise typer.BadParameter(f"'{value}' is not one of {', '.join(names)}.") from None

    return parse


def one_of(kind: type[StrEnum], help: str) -> Any:
    """A ``typer.Option`` taking one of ``kind``'s values, shown as ``a|b|c`` in ``--help``."""
    return typer.Option(
        parser=enum_parser(kind), metavar="|".join(m.value for m in kind), help=help
    )
