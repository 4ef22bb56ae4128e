"""The CSV reader's fast path gives exactly what the careful (csv module) reader gives.

The fast path (data/ingest/fast_csv.py) parses blocks with no quotes, NULs or bad field counts with
pandas' C parser, and hands the first other block and the rest of the file to the careful reader.
Every case is read both ways and compared: values, line numbers, and per-row problems.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from data.ingest import fast_csv
from data.ingest.readers import open_source

HEADER = "id,occurred_at,kind,people,lat,lon,notes"


def _plain(i: int) -> str:
    return f"e{i},2026-01-10T0{i % 10}:00:00Z,rescue,{i},2.5,31.{i},note é {i}"


CASES = {
    "plain": [_plain(i) for i in range(25)],
    "blank lines": [_plain(i) if i % 6 else "   " for i in range(25)] + ["", ""],
    "quote in the third block, spanning lines": [_plain(i) for i in range(9)]
    + ['q1,2026-01-10,rescue,1,2.5,31.2,"two', 'lines, one field"']
    + [_plain(i) for i in range(9, 20)],
    "a NUL byte later": [_plain(i) for i in range(12)] + ["n1,2026-01-10,res\0cue,1,2.5,31.2,x"] + [_plain(30)],
    "too many fields": [_plain(i) for i in range(5)] + ["m1,2026-01-10,rescue,1,2.5,31.2,x,extra"] + [_plain(40)],
    "too few fields": [_plain(i) for i in range(5)] + ["m2,2026-01-10,rescue"] + [_plain(41)],
    "empty fields and spaces": [f" s{i} , 2026-01-10 ,rescue,,2.5,31.2, " for i in range(8)],
}


def _read(path: Path) -> tuple[pd.DataFrame, list[int], dict[int, tuple[str, str]]]:
    chunks = list(open_source(path, 4).chunks)  # chunks of 4 rows: many blocks
    frame = pd.concat([c.frame for c in chunks], ignore_index=True) if chunks else pd.DataFrame()
    lines = [int(n) for c in chunks for n in c.lines]
    errors: dict[int, tuple[str, str]] = {}
    start = 0
    for c in chunks:
        errors.update({start + pos: e for pos, e in c.errors.items()})
        start += len(c)
    return frame, lines, errors


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
@pytest.mark.parametrize("encoding", ["utf-8", "cp1252"])
@pytest.mark.parametrize("case", list(CASES))
def test_fast_and_careful_readers_agree(
    case: str, encoding: str, newline: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes((newline.join([HEADER, *CASES[case]]) + newline).encode(encoding))
    fast = _read(path)
    monkeypatch.setattr(fast_csv, "ASCII_COMPATIBLE", ())  # the careful reader only
    careful = _read(path)
    pd.testing.assert_frame_equal(fast[0], careful[0])
    assert fast[1] == careful[1] and fast[2] == careful[2]
    assert len(fast[0]) == len([r for r in CASES[case] if r.strip() and r != 'lines, one field"'])


def test_a_plain_file_is_read_by_the_fast_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "x.csv"
    path.write_text("\n".join([HEADER, *CASES["plain"]]) + "\n")
    calls: list[int] = []
    real = fast_csv.parse_block
    monkeypatch.setattr(fast_csv, "parse_block", lambda *a: calls.append(1) or real(*a))
    frame, lines, errors = _read(path)
    assert len(calls) == 7 and len(frame) == 25 and lines[0] == 2 and errors == {}
