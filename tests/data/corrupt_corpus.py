"""A seeded corpus of corrupted ICLR rows, built from the bundled real sample.

``build(root, seed)`` writes about 1,000 rows across a CSV, a JSON-lines and a parquet file
(plus a small CSV without a required column) under ``root/data``, with page images under
``root/data/images`` and a folder ``root/outside`` that the corpus tries to reach (``../``
parts, absolute paths, symlinks). About 40% of the rows carry exactly one planted defect;
the returned :class:`Corpus` says, per file, how many rows were planted with each reason
(what the lenient loader must count as skipped), how many named files must be refused (by
column and reason), and the first defective row (what the strict loader must raise).

Run it by hand to look at the files: ``python tests/data/corrupt_corpus.py OUT_DIR``.
"""

from __future__ import annotations

import csv
import io
import json
import random
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from paperpred.data import ICLRDataLoader, sample_path
from paperpred.data.paths import NO_TAIL, OUTSIDE
from paperpred.data.writers import CSV_COLUMNS, to_row

PAGE_COLUMN = "page_image_paths"
MD_COLUMN = "markdown_path"
COLUMNS = (*CSV_COLUMNS, PAGE_COLUMN, MD_COLUMN)
DEFECT_SHARE = 0.4
ROWS = {"corpus.csv": 340, "corpus.jsonl": 340, "corpus.parquet": 320}
NO_ABSTRACT_ROWS = 20
HUGE_TITLE = 1_000_000
BAD_BYTES = "\udcff\udcfe"  # written with surrogateescape: the bytes 0xff 0xfe


@dataclass
class Planted:
    """What one file carries: reasons of skipped rows, refused files, the first bad row."""

    skipped: Counter = field(default_factory=Counter)
    missing: Counter = field(default_factory=Counter)  # (column, reason text) -> count
    first: tuple[int, str, str] | None = None  # (row, field, reason)
    rows: int = 0

    def plant(self, number: int, fld: str, reason: str, *, row_level: bool = True) -> None:
        if row_level:
            self.skipped[reason] += 1
        else:
            self.missing[(fld, reason)] += 1
        if self.first is None:
            self.first = (number, fld, reason)


@dataclass
class Corpus:
    data_dir: Path
    image_base_dir: Path
    outside: Path
    files: dict[str, Planted]

    def path(self, name: str) -> Path:
        return self.data_dir / name

    @property
    def n_rows(self) -> int:
        return sum(p.rows for p in self.files.values())


# ----- defects: each mutates a row and returns (field, reason[, row_level]) ---------------
Defect = Callable[[dict[str, Any], "Context"], tuple]


@dataclass
class Context:
    rng: random.Random
    fmt: str
    seen_ids: list[str]
    outside: Path
    image_base_dir: Path
    symlinks: int = 0


def _text_year(row, ctx):
    row["year"] = ctx.rng.choice(["twenty-seventeen", "2017.5", "inf", "nan", "MMXVII"])
    return "year", "non-numeric year"


def _bad_year(row, ctx):
    row["year"] = ctx.rng.choice([-2017, 0, 1017, 3017]) if ctx.fmt == "jsonl" else \
        ctx.rng.choice(["-2017", "0", "1017", "3017"])
    return "year", "year out of range"


def _no_year(row, ctx):
    if ctx.fmt == "jsonl":
        del row["year"]
    else:
        row["year"] = ""
    return "year", "missing required field"


def _empty_title(row, ctx):
    row["title"] = ctx.rng.choice(["", "   ", "\t\n"])
    return "title", "empty title"


def _huge_title(row, ctx):
    row["title"] = ("A" * 99 + " ") * (HUGE_TITLE // 100)
    return "title", "title too long"


def _malformed_reviews(row, ctx):
    row["standardized_reviews"] = ctx.rng.choice(
        ['[{"rating": 6, "text": "unterminated}', "[{'rating': 6}]", '[{"rating": 6},'])
    return "standardized_reviews", "malformed JSON"


def _off_scale(row, ctx):
    reviews = json.loads(row["standardized_reviews"]) or [{"text": "short"}]
    reviews[0]["rating"] = ctx.rng.choice([0, 11, 12, -3, 100])
    row["standardized_reviews"] = json.dumps(reviews)
    return "standardized_reviews", "bad review"


def _bad_label(row, ctx):
    if ctx.fmt == "parquet":
        row["citation_percentile"] = ctx.rng.choice([float("inf"), float("-inf")])
    elif ctx.fmt == "jsonl":
        row["citation_percentile"] = ctx.rng.choice([float("inf"), "high", "nan"])
    else:
        row["citation_percentile"] = ctx.rng.choice(["inf", "-inf", "nan", "high"])
    return "citation_percentile", "bad label"


def _wrong_type(row, ctx):
    if ctx.fmt == "jsonl":
        name, value = ctx.rng.choice([("title", ["a", "list"]), ("title", {"en": "x"}),
                                      ("labels", [1, 2]), ("metadata", [3]),
                                      ("standardized_reviews", 7), ("original_abstract", [1])])
    else:
        name, value = ctx.rng.choice([("labels", "[1, 2]"), ("metadata", '"text"'),
                                      ("labels", "3")])
    row[name] = value
    return name, "wrong type"


def _duplicate(row, ctx):
    row["submission_id"] = ctx.rng.choice(ctx.seen_ids)
    return "submission_id", "duplicate submission_id"


def _invalid_utf8(row, ctx):
    name = ctx.rng.choice(["title", "original_abstract", "standardized_reviews"])
    value = row[name]
    if name == "standardized_reviews":  # inside a review's text: found in nested values too
        reviews = json.loads(value) or [{"text": ""}]
        reviews[0]["text"] = str(reviews[0].get("text", "")) + BAD_BYTES
        row[name] = json.dumps(reviews, ensure_ascii=False)
    else:
        row[name] = value[:20] + BAD_BYTES + value[20:]
    return name, "invalid UTF-8"


def _escaping_id(row, ctx):
    ctx.symlinks += 1  # a counter: each escaping id is unique (else it is a duplicate)
    row["submission_id"] = ctx.rng.choice(["../outside/{}", "../../etc/{}", f"{ctx.outside}/{{}}",
                                           "a/../../outside/{}", "/etc/passwd{}"]
                                          ).format(ctx.symlinks)
    return "submission_id", "unsafe submission_id"


def _symlinked_id(row, ctx):
    ctx.symlinks += 1
    name = f"symlinked-{ctx.fmt}-{ctx.symlinks}"
    (ctx.image_base_dir / name).symlink_to(ctx.outside, target_is_directory=True)
    row["submission_id"] = name
    return "submission_id", "unsafe submission_id"


def _escaping_page(row, ctx):
    kind = ctx.rng.choice(["dotdot", "absolute", "symlink"])
    if kind == "dotdot":
        named, reason = "../../outside/secret.png", OUTSIDE
    elif kind == "absolute":
        named, reason = str(ctx.outside / "secret.png"), NO_TAIL
    else:  # a file inside the layout that is a symlink to the secret
        ctx.symlinks += 1
        folder = ctx.image_base_dir / "2017" / row["submission_id"] / "redacted_pdf_img_content"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "page_0.png").unlink(missing_ok=True)
        (folder / "page_0.png").symlink_to(ctx.outside / "secret.png")
        named, reason = f"2017/{row['submission_id']}/redacted_pdf_img_content/page_0.png", \
            OUTSIDE
    row[PAGE_COLUMN] = json.dumps([named]) if ctx.fmt != "jsonl" else [named]
    return PAGE_COLUMN, f"{reason} (image_base_dir)", False


def _escaping_markdown(row, ctx):
    row["clean_md"] = ""  # the text is read from the named file only when the row has none
    row[MD_COLUMN] = ctx.rng.choice(["../outside/secret.md", "../../outside/secret.md"])
    return MD_COLUMN, f"{OUTSIDE} (data_dir)", False


COMMON: list[Defect] = [_text_year, _bad_year, _no_year, _empty_title, _malformed_reviews,
                        _off_scale, _bad_label, _wrong_type, _duplicate, _escaping_id,
                        _symlinked_id, _escaping_page, _escaping_markdown]
BY_FORMAT: dict[str, list[Defect]] = {
    "csv": [*COMMON, _invalid_utf8, _huge_title],
    "jsonl": [*COMMON, _invalid_utf8, _huge_title],
    "parquet": [d for d in COMMON if d is not _wrong_type] + [_huge_title],
}
MAX_HUGE = 3  # 1 MB titles per file


# ----- writers -------------------------------------------------------------------------
def _csv_bytes(rows: list[dict[str, Any]], columns=COLUMNS) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8", "surrogateescape")


def _jsonl_bytes(lines: list[str]) -> bytes:
    return "".join(line + "\n" for line in lines).encode("utf-8", "surrogateescape")


def _write_parquet(rows: list[dict[str, Any]], path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([(c, pa.float64() if c == "citation_percentile" else pa.string())
                        for c in COLUMNS])
    fixed = [{c: (None if row.get(c) in ("", None) else
                  float(row[c]) if c == "citation_percentile" else str(row[c]))
              for c in COLUMNS} for row in rows]
    pq.write_table(pa.Table.from_pylist(fixed, schema=schema), path)


def _page(path: Path) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (8, 8), "white").save(path)


# ----- the corpus ----------------------------------------------------------------------
def build(root: Path, seed: int = 0) -> Corpus:
    """Write the corpus under ``root`` and return what was planted in it."""
    rng = random.Random(seed)
    data_dir, outside = root / "data", root / "outside"
    images = data_dir / "images"
    outside.mkdir(parents=True)
    _page(outside / "secret.png")
    (outside / "secret.md").write_text("# a file the loader must never open\n")
    base = [to_row(s) for s in ICLRDataLoader(strict=False).load_from_jsonl(sample_path())]
    for row in base:  # every clean row has a page folder; rows load with images
        row["year"] = str(row["year"])
        _page(images / row["submission_id"] / "page_0.png")
    corpus = Corpus(data_dir, images, outside, {})
    for name, n in ROWS.items():
        fmt = name.rsplit(".", 1)[1]
        corpus.files[name] = _one_file(data_dir / name, fmt, rng.sample(base, n), rng,
                                       Context(rng, fmt, [], outside, images))
    no_abstract = data_dir / "no_abstract.csv"
    columns = tuple(c for c in COLUMNS if c != "original_abstract")
    no_abstract.write_bytes(_csv_bytes(rng.sample(base, NO_ABSTRACT_ROWS), columns))
    planted = Planted(rows=NO_ABSTRACT_ROWS)
    for number in range(1, NO_ABSTRACT_ROWS + 1):
        planted.plant(number, "original_abstract", "missing required field")
    corpus.files[no_abstract.name] = planted
    return corpus


def _one_file(path: Path, fmt: str, rows: list[dict[str, Any]], rng: random.Random,
              ctx: Context) -> Planted:
    planted = Planted(rows=len(rows))
    out: list[Any] = []
    huge = 0
    for number, clean in enumerate(rows, start=1):
        row = dict(clean)
        defects = [d for d in BY_FORMAT[fmt] if d is not _huge_title or huge < MAX_HUGE]
        if not ctx.seen_ids:
            defects.remove(_duplicate)
        if fmt == "jsonl" and rng.random() < 0.03:  # a line that is not a JSON object
            out.append(rng.choice(['{"title": "cut off', "[1, 2, 3]", '"a string"']))
            planted.plant(number, "", "malformed JSON")
            continue
        if rng.random() < DEFECT_SHARE:
            defect = rng.choice(defects)
            huge += defect is _huge_title
            fld, reason, *level = defect(row, ctx)
            planted.plant(number, fld, reason, row_level=not level)
            if level:  # a refused file: the row itself loads
                ctx.seen_ids.append(row["submission_id"])
        else:
            ctx.seen_ids.append(row["submission_id"])
        out.append(json.dumps(row, ensure_ascii=False) if fmt == "jsonl" else row)
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        path.write_bytes(_csv_bytes(out))
    elif fmt == "jsonl":
        path.write_bytes(_jsonl_bytes(out))
    else:
        _write_parquet(out, path)
    return planted


if __name__ == "__main__":
    built = build(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 0)
    for file, what in built.files.items():
        print(file, what.rows, dict(what.skipped), dict(what.missing), what.first)
