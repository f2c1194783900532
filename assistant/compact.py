"""Many strings kept as one UTF-8 buffer and an offsets array, decoded only when read.

The keyword index holds every chunk's id, paper, section and text. As Python objects that cost
~1 GB at 50,000 papers (350k chunks); here it is about the size of the text itself, and it goes to
and from the on-disk cache as two plain arrays (no pickle).
"""
from __future__ import annotations

import io
import mmap
import struct
import zipfile
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


def mapped_npz(path, names: tuple[str, ...]) -> dict[str, np.ndarray]:
    """The named arrays of an uncompressed `.npz` (what `np.savez` writes), mapped from the file
    rather than read into memory: opening costs the headers, and only the pages a question touches
    are read (a 5,000-paper keyword index is 24 MB; a question reads a few hundred KB of it, and a
    process that reads it all reads it once, from the page cache, without a copy). Plain dtypes only:
    an object array (which would need unpickling) is refused. Anything unexpected raises
    ValueError (or OSError): the callers treat the file as a damaged cache."""
    try:
        with open(path, "rb") as fh:
            with zipfile.ZipFile(fh) as archive:
                members = {info.filename: info for info in archive.infolist()}
            buffer = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        arrays = {}
        for name in names:
            info = members[f"{name}.npy"]
            start = info.header_offset
            if info.compress_type != zipfile.ZIP_STORED or buffer[start:start + 4] != b"PK\x03\x04":
                raise ValueError(f"{name} is not stored plainly")
            name_length, extra_length = struct.unpack("<HH", buffer[start + 26:start + 30])
            member = start + 30 + name_length + extra_length
            head = io.BytesIO(buffer[member:member + min(info.file_size, 1 << 16)])
            version = np.lib.format.read_magic(head)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(head)
            elif version == (2, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(head)
            else:
                raise ValueError(f"{name}: .npy version {version}")
            if dtype.hasobject or dtype.fields is not None:
                raise ValueError(f"{name}: not a plain array")
            count = int(np.prod(shape, dtype=np.int64))
            offset = member + head.tell()
            if offset + count * dtype.itemsize > member + info.file_size:
                raise ValueError(f"{name}: shorter than its header says")
            array = np.frombuffer(buffer, dtype=dtype, count=count, offset=offset)
            arrays[name] = array.reshape(shape, order="F" if fortran else "C")
        return arrays
    except (KeyError, IndexError, struct.error, zipfile.BadZipFile, EOFError, TypeError) as exc:
        raise ValueError(f"{path}: {exc}") from None
