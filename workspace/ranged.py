"""Ranged reads of a datastore file: a seekable, read-only file object over a Blob or S3 store's read_range, so
that pyarrow reads a Parquet file's footer, or a few of its row groups, without downloading the file (split_rows,
docs/ENGINE.md "Splitting large files").

A store that can do it has `read_range(path, start, length) -> bytes` (workspace.s3.S3Store, workspace.blob.BlobStore);
a local store reads its own files in place and has none.
"""

from __future__ import annotations

import io


class RangedFile(io.RawIOBase):
    """The file `path` of a store, `size` bytes, read by ranges as it is asked (each read() one request; pyarrow
    asks for the footer's last 64 KB at once, then for a row group's column chunks as one coalesced range).
    requests and bytes_read count what was fetched."""

    def __init__(self, store, path: str, size: int):
        self.store, self.path, self.size = store, path, size
        self.position = 0
        self.requests = 0
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.size}[whence]
        if base + offset < 0:
            raise OSError(f"seek to {base + offset}, before the start of '{self.path}'")
        self.position = base + offset
        return self.position

    def read(self, size: int = -1) -> bytes:
        end = self.size if size is None or size < 0 else min(self.size, self.position + size)
        if end <= self.position:
            return b""
        data = self.store.read_range(self.path, self.position, end - self.position)
        self.requests += 1
        self.bytes_read += len(data)
        self.position += len(data)
        return data

    def readall(self) -> bytes:
        return self.read(-1)

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def can_read_ranges(store) -> bool:
    return callable(getattr(store, "read_range", None))


def open_ranged(store, path: str, size: int | None = None) -> RangedFile:
    """A RangedFile of the store's file; size: from a listing, else asked (store.files: one HEAD request)."""
    if size is None:
        size = store.files(path)[0].size
    return RangedFile(store, path, size)
