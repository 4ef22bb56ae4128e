"""Command groups that several CLI modules add sub-commands to (``hbm users``, ``hbm audit``)."""

from __future__ import annotations

import argparse
import weakref
from typing import Any

_GROUPS: weakref.WeakKeyDictionary[argparse.ArgumentParser, Any] = weakref.WeakKeyDictionary()


def command_group(sub: Any, name: str, help: str, dest: str, required: bool = True) -> tuple[Any, Any]:
    """Return the parser of ``hbm NAME`` and its sub-parsers, creating them the first time any module asks."""
    parser = sub.choices.get(name) or sub.add_parser(name, help=help)
    group = _GROUPS.get(parser)
    if group is None:
        group = _GROUPS[parser] = parser.add_subparsers(dest=dest, required=required)
    return parser, group
