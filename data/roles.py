"""Roles and what each may do: the pure access policy, importable from every package.

The request-bound parts (who is asking, messages, clamping a view) are in ``dashboard/permissions.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

from geo.errors import HbmError

ROLES = ("viewer", "analyst", "sar_coordinator", "admin")

VIEW = "view"  # aggregated layers
RAW = "raw"  # raw event points and fine H3 resolutions without small-count suppression
EXPORT_IMAGE = "export_image"  # PNG / PDF maps
EXPORT_DATA = "export_data"  # GeoPackage, GeoJSON, CSV, KML, HTML, briefing pack, SAR field exports
EDIT_RULES = "edit_rules"  # alert rules
ACK_ALERTS = "ack_alerts"
EDIT_SAR = "edit_sar"  # create and edit SAR plans, record sorties
ADMIN = "admin"  # users, settings, audit, purge
INGEST = "ingest"  # API tokens only: POST /api/v1/events

_ANALYST = frozenset({VIEW, RAW, EXPORT_IMAGE, EXPORT_DATA, EDIT_RULES, ACK_ALERTS})
PERMISSIONS: dict[str, frozenset[str]] = {
    "viewer": frozenset({VIEW, EXPORT_IMAGE}),
    "analyst": _ANALYST,
    "sar_coordinator": _ANALYST | {EDIT_SAR},
    "admin": _ANALYST | {EDIT_SAR, ADMIN},
}
VIEWER_MAX_RES = 6  # default; HBM_VIEWER_MAX_RES


class Forbidden(HbmError):
    """The user's role does not allow this."""


@dataclass(frozen=True)
class User:
    """Who is asking, and with which role."""

    name: str
    role: str

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise HbmError(f"unknown role {self.role!r}; use one of {', '.join(ROLES)}")


DEMO_USER = User("demo", "admin")


def can(user: User | None, permission: str) -> bool:
    """Return True when ``user`` (None = anonymous) holds ``permission``."""
    return user is not None and permission in PERMISSIONS[user.role]


def require(user: User | None, permission: str) -> User:
    """Return ``user`` if it holds ``permission``; else raise Forbidden with a one-line reason."""
    if user is None:
        raise Forbidden("sign in first")
    if not can(user, permission):
        raise Forbidden(f"the {user.role} role may not do this ({permission.replace('_', ' ')})")
    return user
