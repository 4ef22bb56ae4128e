"""What one import did: per-item results (for the API) and the summary counts."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass
class ItemResult:
    """What happened to one source row (for the API's per-item answer)."""

    index: int
    status: str  # accepted | corrected | rejected
    ids: list[str] = field(default_factory=list)
    problems: list[dict[str, str]] = field(default_factory=list)
    corrections: list[dict[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Return the result as JSON-ready data."""
        out: dict[str, Any] = {"index": self.index, "status": self.status, "ids": self.ids}
        if self.problems:
            out["problems"] = self.problems
        if self.corrections:
            out["corrections"] = self.corrections
        return out


@dataclass
class Summary:
    """Counts of one import; ``read == accepted + rejected`` (rows), ``written`` counts records."""

    source: str
    format: str
    profile: str
    kind: str
    read: int = 0
    accepted: int = 0
    corrected: int = 0
    rejected: int = 0
    written: int = 0
    unchanged: int = 0  # events identical to the stored ones: not rewritten (counted in written)
    batches: int = 0
    seconds: float = 0.0
    rejected_by_reason: Counter[str] = field(default_factory=Counter)
    corrected_by_reason: Counter[str] = field(default_factory=Counter)
    rejects_path: str | None = None
    corrections_path: str | None = None
    notes: list[str] = field(default_factory=list)
    items: list[ItemResult] = field(default_factory=list)
    sources: set[str] = field(default_factory=set)  # the events' source names written ("" for none)
    # read/check run in the main thread; write (staging, for events) in the writer thread; wait is the main
    # thread blocked on it; merge is the one set-based merge of the staged events at the end.
    stage_seconds: dict[str, float] = field(
        default_factory=lambda: dict.fromkeys(("read", "check", "write", "wait", "merge"), 0.0)
    )

    @property
    def exit_code(self) -> int:
        """Return 0 when every row was accepted, 1 when some were rejected."""
        return 1 if self.rejected else 0

    def as_dict(self) -> dict[str, Any]:
        """Return the summary as JSON-ready data (without per-item results)."""
        return {
            "source": self.source,
            "format": self.format,
            "profile": self.profile,
            "kind": self.kind,
            "read": self.read,
            "accepted": self.accepted,
            "corrected": self.corrected,
            "rejected": self.rejected,
            "written": self.written,
            "unchanged": self.unchanged,
            "rejected_by_reason": dict(self.rejected_by_reason.most_common()),
            "corrected_by_reason": dict(self.corrected_by_reason.most_common()),
            "batches": self.batches,
            "seconds": round(self.seconds, 3),
            "rows_per_s": round(self.read / self.seconds) if self.seconds > 0 else None,
            "stage_seconds": {k: round(v, 3) for k, v in self.stage_seconds.items()},
            "rejects": self.rejects_path,
            "corrections": self.corrections_path,
            "notes": self.notes,
            "exit_code": self.exit_code,
        }
