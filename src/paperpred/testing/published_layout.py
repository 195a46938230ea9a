"""Write real ICLR rows in the exact layout of the spec authors' published dataset.

``skonan/iclr-reviews-2020-2026`` cannot be fetched here, so tests, examples and the README's
walk-through use the bundled ICLR 2017 rows written in its column layout: one parquet split
per year (``data/<year>-00000-of-00001.parquet``), every column a string except ``year``,
paper text and page images as *absolute paths of another machine* (``foreign_root``), and the
files themselves in a copy of that machine's folders::

    out_dir/dataset/data/2017-00000-of-00001.parquet     the split
    out_dir/copy/normalized/2017/<id>/<id>.md            the markdown each row names
    out_dir/copy/normalized/2017/<id>/redacted_pdf_img_content/page_0.png, ...

Loading it as a user who copied the authors' folders would::

    ICLRDataLoader(data_dir=out_dir / "copy", image_base_dir=out_dir / "copy")
        .load_from_huggingface(str(out_dir / "dataset"), split="2017", load_images=True)

The columns follow the script that built the published dataset (reviews in that year's
OpenReview form plus LLM-normalised universal reviews as JSON strings, decisions and citation
counts in ``technical_indicators`` and ``submission_json``). The 2017 reviews are plain text,
so the normalised ones carry it as their summary; the markdown of a paper is made from its
abstract (the 2017 export has no full text), with a camera-ready header planted in it so that
scrubbing of lazily read text is exercised. Run ``python -m paperpred.testing.published_layout
OUT_DIR`` to write one.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from paperpred.data.bundled import load_sample

FOREIGN_ROOT = "/home/skonan/AutoReviewer/data/full_run"
PLANTED_HEADER = "Published as a conference paper at ICLR 2017"
#: Submissions whose normalised reviews are null (as when one review failed to normalise).
NULL_NORMALIZED_EVERY = 5

_DECISIONS = {  # the 2017 status -> (submission_json decision, specific, binary)
    "Oral": ("Accept (Oral)", "oral", "accept"),
    "Poster": ("Accept (Poster)", "poster", "accept"),
    "Workshop": ("Reject", "reject", "reject"),
    "Reject": ("Reject", "reject", "reject"),
}


def _rating_text(value: Any) -> str | None:
    return None if value is None else f"{int(float(value))}: reviewer rating"


def _confidence_text(value: Any) -> str | None:
    return None if value is None else f"{value:g}: reviewer confidence"


def _count(value: Any) -> int:
    try:
        number = int(float(str(value)))
    except (TypeError, ValueError):
        return 0
    return max(0, number)


def _pages(sub: Any, folder: Path, n_pages: int) -> list[str]:
    from PIL import Image, ImageDraw

    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for page in range(n_pages):
        image = Image.new("RGB", (96, 124), "white")
        draw = ImageDraw.Draw(image)
        draw.text((4, 2), PLANTED_HEADER[:16], fill="black")  # the header band is masked
        draw.text((4, 40), f"{sub.submission_id[:8]} p{page}", fill="black")
        image.save(folder / f"page_{page}.png")
        names.append(f"page_{page}.png")
    return names


def published_row(sub: Any, index: int, foreign_root: str, page_names: list[str]) -> dict[str, Any]:
    """One row of the published layout for a bundled submission."""
    base = f"{foreign_root}/normalized/{sub.year}/{sub.submission_id}"
    decision, specific, binary = _DECISIONS[sub.decision]
    original = [{"rating": _rating_text(r.rating), "confidence": _confidence_text(r.confidence),
                 "review": r.text, "title": r.title, "number_of_author_responses": 0,
                 "number_of_reviewer_responses_to_author": 0} for r in sub.reviews]
    normalized = None
    if original and index % NULL_NORMALIZED_EVERY:
        normalized = [json.dumps({"summary": r.text, "strengths": "", "weaknesses": "",
                                  "questions": [], "sources": []}) for r in sub.reviews]
    meta = sub.meta_review
    submission = {"id": sub.submission_id, "forum": sub.submission_id, "year": sub.year,
                  "title": sub.title, "abstract": sub.abstract, "keywords": sub.keywords,
                  "authors": ["Anonymous"], "decision": decision,
                  "venue": f"ICLR {sub.year} {specific}"}
    return {
        "submission_id": sub.submission_id,
        "year": int(sub.year),
        "openreview_link": f"https://openreview.net/forum?id={sub.submission_id}",
        "pdf_download_link": f"https://openreview.net/pdf?id={sub.submission_id}",
        "title": sub.title,
        "original_abstract": sub.abstract,
        "no_github_abstract": sub.abstract,
        "original_md_path": f"{foreign_root}/md_mineru/{sub.submission_id}/vlm/"
                            f"{sub.submission_id}.md",
        "clean_md_path": f"{base}/{sub.submission_id}.md",
        "images_in_clean_md": json.dumps({}),
        "clean_pdf_img_paths": json.dumps([f"{base}/redacted_pdf_img_content/{name}"
                                           for name in page_names]),
        "original_reviews": json.dumps(original),
        "normalized_reviews": json.dumps(normalized) if normalized else None,
        "original_metareview": json.dumps({"decision": decision, "comment": meta,
                                           "title": "Paper Decision"}) if meta else None,
        "normalized_metareview": json.dumps(json.dumps({"summary": meta, "strengths": "",
                                                        "weaknesses": ""})) if meta else None,
        "technical_indicators": json.dumps({
            "binary_decision": binary, "specific_decision": specific,
            "citations": _count(sub.metadata.get("gs_citation_papercopilot")),
            "ratings": [int(r.rating) if r.rating is not None else 0 for r in sub.reviews]}),
        "metadata_of_changes": json.dumps({"has_abstract": True,
                                           "page_end": len(page_names) - 1}),
        "submission_json": json.dumps(submission),
        "content_list_json": json.dumps([{"type": "text", "text": sub.title, "page_idx": 0}]),
        "_pdf_path": f"{foreign_root}/pdfs/{sub.year}/{sub.submission_id}.pdf",
        "_mineru_path": f"{foreign_root}/md_mineru/{sub.submission_id}",
        "_normalized_path": base,
    }


def write_published_layout(out_dir: str | Path, limit: int | None = None, n_pages: int = 3,
                           long_paper_pages: int = 12,
                           foreign_root: str = FOREIGN_ROOT) -> Path:
    """Write the bundled 2017 rows (the first ``limit``) in the published layout.

    Args:
        out_dir: the folder to write (``dataset/`` and ``copy/`` inside it).
        limit: at most this many rows (None: all 489).
        n_pages: page images per paper; the first paper gets ``long_paper_pages`` (so that
            ``page_10`` must sort after ``page_9``).
        foreign_root: the other machine's folder that every path column names.

    Returns:
        ``out_dir``.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    out_dir = Path(out_dir)
    subs = load_sample()[:limit] if limit else load_sample()
    rows = []
    copy = out_dir / "copy" / "normalized"
    for index, sub in enumerate(subs):
        folder = copy / str(sub.year) / sub.submission_id
        pages = _pages(sub, folder / "redacted_pdf_img_content",
                       long_paper_pages if index == 0 else n_pages)
        (folder / f"{sub.submission_id}.md").write_text(
            f"{PLANTED_HEADER}\n\n# INTRODUCTION\n\n{sub.abstract}\n\n# REFERENCES\n\n"
            "A. Author. A paper. 2016.\n", encoding="utf-8")
        rows.append(published_row(sub, index, foreign_root, pages))
    split_dir = out_dir / "dataset" / "data"
    split_dir.mkdir(parents=True, exist_ok=True)
    schema = pa.schema([(name, pa.int64() if name == "year" else pa.string())
                        for name in rows[0]])
    pq.write_table(pa.Table.from_pylist(rows, schema=schema),
                   split_dir / f"{subs[0].year}-00000-of-00001.parquet")
    return out_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m paperpred.testing.published_layout",
        description="Write the bundled ICLR 2017 rows in the published dataset's layout.")
    parser.add_argument("out_dir")
    parser.add_argument("--limit", type=int, default=None)
    args = parser.parse_args(argv)
    out = write_published_layout(args.out_dir, limit=args.limit)
    print(f"wrote {out}/dataset (split 2017) and {out}/copy (markdown, page images)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
