"""Helpers every ``hbm`` command module shares: the configured store, who runs the command, safe printing."""

from __future__ import annotations

import getpass
from typing import TYPE_CHECKING, Any

from data.open import open_store
from data.settings import load_store_settings
from data.store import Store

if TYPE_CHECKING:
    from dashboard.config import Settings


def configured_store(config: Settings | None = None) -> Store:
    """Return the store HBM_DATABASE_URL names (the embedded SQLite file by default), from ``config`` if given."""
    return open_store(config.store if config is not None else load_store_settings())


def cli_actor() -> str:
    """Return who runs the command, for the audit log: ``cli:<OS user>``."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no user name in a bare container
        return "cli"


def printable(value: Any) -> str:
    """Return ``value`` as text with control characters replaced, so stored text cannot drive the terminal."""
    return "".join(ch if ch.isprintable() else "?" for ch in str(value))
