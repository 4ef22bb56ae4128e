"""The fast path of the CSV reader: blocks of plain lines parsed by pandas' C parser.

A block of lines qualifies when nothing in it needs the careful reader (data/ingest/readers.py):
no quote character (so no field can hold a delimiter or span lines), no NUL byte, no bare carriage
return, and every non-blank line holds exactly as many fields as the header. Such a block parses
to the same values, line numbers and (no) problems as the careful reader, about ten times faster.
The first block that does not qualify is handed back, with everything after it, to the careful
reader; a quote may open a field that continues past the block, so there is no way back.
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterator
from typing import Any, BinaryIO

import numpy as np
import pandas as pd

ASCII_COMPATIBLE = ("utf-8", "utf-8-sig", "cp1252", "latin-1")


def is_plain(lines: list[bytes], delimiter: bytes, width: int) -> bool:
    """Return True when every line of the block can be parsed without quoting rules."""
    block = b"".join(lines)
    if b'"' in block or b"\0" in block or block.count(b"\r") != block.count(b"\r\n"):
        return False
    return all(line.count(delimiter) == width - 1 for line in lines if line.strip())


def parse_block(
    lines: list[bytes], first_line: int, columns: list[str], delimiter: str, encoding: str
) -> tuple[pd.DataFrame, np.ndarray]:
    """Return (the block's rows as text, each row's line number), blank lines skipped."""
    keep = [i for i, line in enumerate(lines) if line.strip()]
    numbers = np.array(keep, dtype=np.int64) + first_line
    if not keep:
        return pd.DataFrame(columns=columns, dtype=object), numbers
    body = b"".join(lines[i] for i in keep) if len(keep) < len(lines) else b"".join(lines)
    frame = pd.read_csv(
        io.BytesIO(body),
        sep=delimiter,
        header=None,
        names=columns,
        dtype=str,
        na_filter=False,
        quoting=csv.QUOTE_NONE,
        encoding=encoding.replace("-sig", ""),
        engine="c",
    )
    return frame.astype(object), numbers


class Rejoined(io.RawIOBase):
    """A byte stream that reads ``head`` first, then the rest of ``tail``."""

    def __init__(self, head: bytes, tail: BinaryIO) -> None:
        self.head, self.tail = head, tail

    def readable(self) -> bool:
        """Return True: this stream is read."""
        return True

    def readinto(self, buffer: Any) -> int:
        """Fill ``buffer`` from the head, then the tail; return the bytes read (0 at the end)."""
        data = self.head[: len(buffer)] if self.head else self.tail.read(len(buffer))
        self.head = self.head[len(data) :] if self.head else b""
        buffer[: len(data)] = data
        return len(data)


def plain_blocks(
    stream: BinaryIO, columns: list[str], delimiter: str, encoding: str, chunk_rows: int, first_line: int
) -> Iterator[tuple[pd.DataFrame | None, Any, int]]:
    """Yield (frame, line numbers, next line) per plain block; at the first other block yield
    (None, its raw lines, its first line) and stop.

    ``stream`` is positioned after the header; ``first_line`` is the line number of its next line.
    """
    sep, width = delimiter.encode("ascii"), len(columns)
    line = first_line
    while True:
        lines = list(itertools.islice(stream, chunk_rows))
        if not lines:
            return
        if not is_plain(lines, sep, width):
            yield None, lines, line
            return
        frame, numbers = parse_block(lines, line, columns, delimiter, encoding)
        line += len(lines)
        if len(frame):
            yield frame, numbers, line
