"""Files named by the data, opened only inside the folders the user gave.

A dataset names paper text and page images by path, often absolute paths of the machine that
built it (``/scratch/.../normalized/2024/<id>/redacted_pdf_img_content/page_0.png``). Such a
path is used only inside a *root* the user passed to the loader (``data_dir`` for markdown,
``image_base_dir`` for page images):

- a path that already lies inside the root is used as it is;
- any other path is *re-rooted* by its ``<year>/<submission_id>/...`` tail: the root's
  ``<year>/<id>/...`` or ``normalized/<year>/<id>/...``, the first that exists. A user who
  copied the authors' folders anywhere just passes that folder;
- nothing is ever opened outside the root: ``..`` parts, symlinks and ids that would leave it
  are refused (the reason says so). Without a root the path is recorded and not opened.

Every lookup returns the file or the reason it is not usable, for the load report.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path, PurePath

#: Sub-folders under which the authors' layout keeps ``<year>/<id>/`` folders.
LAYOUT_PREFIXES: tuple[tuple[str, ...], ...] = ((), ("normalized",))
#: The folder of redacted page images inside ``<year>/<id>/`` (the published layout).
REDACTED_PAGES = "redacted_pdf_img_content"

NO_ROOT = "no root given"
NOT_FOUND = "not found"
OUTSIDE = "outside the root"
NO_TAIL = "no <year>/<id>/ part to re-root by"


@dataclass(frozen=True)
class Lookup:
    """Where a named file was found (``path``), or why it was not (``reason``)."""

    path: Path | None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.path is not None


def real(path: Path) -> Path:
    """The absolute path with symlinks resolved (nothing needs to exist)."""
    return Path(os.path.realpath(path))


def is_within(path: Path, root: Path) -> bool:
    """True when ``path`` (symlinks resolved) lies inside ``root`` (symlinks resolved)."""
    inner, outer = real(path), real(root)
    return inner == outer or outer in inner.parents


def safe_child(root: Path, *parts: str) -> Path | None:
    """``root / parts`` when it stays inside ``root`` (no ``..``, no absolute part, no symlink
    out), else None."""
    for part in parts:
        pure = PurePath(part)
        if pure.is_absolute() or ".." in pure.parts:
            return None
    candidate = root.joinpath(*parts)
    return candidate if is_within(candidate, root) else None


def layout_tail(path: str | PurePath, year: int | None, submission_id: str) -> tuple[str, ...]:
    """The ``<year>/<id>/...`` tail of ``path`` (the part from the year folder on), or ()."""
    parts = PurePath(path).parts
    for index in range(len(parts) - 1):
        if parts[index + 1] == submission_id and (year is None or parts[index] == str(year)):
            return parts[index:]
    return ()


def locate(named: str | os.PathLike[str], root: Path | None, year: int | None,
           submission_id: str) -> Lookup:
    """Find a file that the data names, inside ``root`` only (see the module docstring)."""
    if root is None:
        return Lookup(None, NO_ROOT)
    text = os.fspath(named).strip()
    pure = PurePath(text)
    if not pure.is_absolute():
        candidate = safe_child(root, *pure.parts)
        if candidate is None:
            return Lookup(None, OUTSIDE)
        return Lookup(candidate) if candidate.is_file() else Lookup(None, NOT_FOUND)
    given = Path(text)
    if is_within(given, root):
        return Lookup(given) if given.is_file() else Lookup(None, NOT_FOUND)
    tail = layout_tail(pure, year, submission_id)
    if not tail:
        return Lookup(None, NO_TAIL)
    refused = False
    for prefix in LAYOUT_PREFIXES:
        candidate = safe_child(root, *prefix, *tail)
        if candidate is None:
            refused = True
        elif candidate.is_file():
            return Lookup(candidate)
    return Lookup(None, OUTSIDE if refused else NOT_FOUND)


def leaves_root(root: Path, name: str) -> bool:
    """True when ``root / name`` names something outside ``root``: ``..``, an absolute path,
    more than one path part, or a symlink that points out (the entry itself, not followed)."""
    pure = PurePath(name)
    if pure.is_absolute() or len(pure.parts) != 1 or ".." in pure.parts:
        return True
    entry = root / name
    return os.path.lexists(entry) and not is_within(entry, root)


def page_image_folders(root: Path, year: int | None, submission_id: str) -> list[Path]:
    """The folders that may hold a paper's page images, in the order they are tried:
    ``root/<id>/`` (``paperpred data render-pages``), then the published layout
    ``root/<year>/<id>/redacted_pdf_img_content/`` and ``root/normalized/<year>/...``.
    Only folders inside ``root`` are returned (an id such as ``../x`` gives none)."""
    candidates = [safe_child(root, submission_id)]
    if year is not None:
        candidates += [safe_child(root, *prefix, str(year), submission_id, REDACTED_PAGES)
                       for prefix in LAYOUT_PREFIXES]
    return [c for c in candidates if c is not None]
