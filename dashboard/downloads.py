"""Download payloads for ``dcc.Download`` built without importing dash (the same dicts ``dcc.send_*`` return)."""

from __future__ import annotations

import base64
from typing import Any


def send_bytes(content: bytes, filename: str, mime: str | None = None) -> dict[str, Any]:
    """Return a download payload carrying ``content`` base64-encoded, as ``dcc.send_bytes`` does."""
    return {"content": base64.b64encode(content).decode(), "filename": filename, "type": mime, "base64": True}


def send_string(content: str, filename: str, mime: str | None = None) -> dict[str, Any]:
    """Return a download payload carrying ``content`` as text, as ``dcc.send_string`` does."""
    return {"content": content, "filename": filename, "type": mime, "base64": False}
