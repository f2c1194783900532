"""Many strings kept as one UTF-8 buffer and an offsets array, decoded only when read.

The keyword index holds every chunk's id, paper, section and text. As Python objects that cost
~1 GB at 50,000 papers (350k chunks); here it is about the size of the text itself, and it goes to
and from the on-disk cache as two plain arrays (no pickle).
"""
from __future__ import annotations

from array import array

import numpy as np


class StringsBuilder:
    """Appends strings; `freeze()` gives the read-only `Strings`."""

    def __init__(self):
        self._buffer = bytearray()
        self._offsets = array("q", [0])

    def append(self, text: str) -> None:
        self._buffer += text.encode("utf-8", errors="surrogatepass")
        self._offsets.append(len(self._buffer))

    def __len__(self) -> int:
        return len(self._offsets) - 1

    def freeze(self, keep: np.ndarray | None = None) -> Strings:
        """The strings so far; `keep` (a boolean mask) leaves some out. The buffer is shared, not
        copied (the texts of 50,000 papers are ~150 MB), so a frozen builder takes no more strings."""
        blob = np.frombuffer(self._buffer, dtype=np.uint8)
        offsets = np.frombuffer(self._offsets, dtype=np.int64).copy()
        strings = Strings(blob, offsets)
        return strings if keep is None else strings.subset(np.flatnonzero(keep))


class Strings:
    """Read-only strings: item i is blob[offsets[i]:offsets[i + 1]] decoded."""

    def __init__(self, blob: np.ndarray, offsets: np.ndarray):
        self.blob, self.offsets = blob, offsets

    @classmethod
    def of(cls, texts: list[str]) -> Strings:
        builder = StringsBuilder()
        for text in texts:
            builder.append(text)
        return builder.freeze()

    @staticmethod
    def well_formed(blob: np.ndarray, offsets: np.ndarray) -> bool:
        """Arrays read from a file make a valid table (checked before any use)."""
        return (blob.ndim == offsets.ndim == 1 and blob.dtype == np.uint8 and offsets.dtype.kind in "iu"
                and len(offsets) >= 1 and offsets[0] == 0 and offsets[-1] == len(blob)
                and bool(np.all(np.diff(offsets) >= 0)))

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, i: int) -> str:
        start, end = int(self.offsets[i]), int(self.offsets[i + 1])
        return self.blob[start:end].tobytes().decode("utf-8", errors="replace")

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def subset(self, rows: np.ndarray) -> Strings:
        builder = StringsBuilder()
        for i in rows:
            builder.append(self[int(i)])
        return builder.freeze()
