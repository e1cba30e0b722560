"""Reading user-editable files with a size limit: a huge file is refused before it is read."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's safe loader where PyYAML was built with it: it reads a pack or corpus file about
ten times faster than the pure-Python one, with the same result."""

#: Corpus topic files, a role's candidate questions and coverage plan, a pack's question files.
MAX_FILE_BYTES = 2_000_000
#: A pack's ``pack.yaml``.
MAX_MANIFEST_BYTES = 1_000_000


class FileTooLargeError(Exception):
    """A file is over its size limit; nothing past the limit was read."""

    def __init__(self, path: Path, size: int, limit: int) -> None:
        self.path, self.size, self.limit = path, size, limit
        super().__init__(f"{path}: is {size:,} bytes; it may hold at most {megabytes(limit)}")


def safe_yaml(text: str | bytes) -> Any:
    """``yaml.safe_load``, by `SAFE_LOADER`."""
    return yaml.load(text, Loader=SAFE_LOADER)


def megabytes(limit: int) -> str:
    """A limit as people say it: ``2 MB``."""
    return f"{limit / 1_000_000:g} MB"


def read_capped(path: Path, limit: int) -> bytes:
    """The bytes of ``path``, or `FileTooLargeError` when it holds more than ``limit`` bytes.

    The size is checked before reading, and at most ``limit + 1`` bytes are ever read (a file
    that grows meanwhile, or a device that never ends, is refused as well). ``OSError`` passes.
    """
    size = path.stat().st_size
    if size > limit:
        raise FileTooLargeError(path, size, limit)
    with path.open("rb") as file:
        data = file.read(limit + 1)
    if len(data) > limit:
        raise FileTooLargeError(path, max(size, len(data)), limit)
    return data
