"""Helpers every ``hbm`` command module shares: the configured store, who runs the command, safe printing."""

from __future__ import annotations

import getpass
from typing import Any

from data.open import open_store
from data.settings import load_store_settings
from data.store import Store


def configured_store() -> Store:
    """Return the store HBM_DATABASE_URL names (the embedded SQLite file by default)."""
    return open_store(load_store_settings())


def cli_actor() -> str:
    """Return who runs the command, for the audit log: ``cli:<OS user>``."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no user name in a bare container
        return "cli"


def printable(value: Any) -> str:
    """Return ``value`` as text with control characters replaced, so stored text cannot drive the terminal."""
    return "".join(ch if ch.isprintable() else "?" for ch in str(value))
