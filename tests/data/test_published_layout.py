"""The spec authors' published dataset (skonan/iclr-reviews-2020-2026), in its exact column
layout: the bundled 2017 rows written as its split, with markdown and page images at a
foreign machine's absolute paths, re-rooted under the folders a user copied them to."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from paperpred import ICLRDataLoader, get_input_formatter
from paperpred.cli.main import main
from paperpred.errors import DataError, PaperpredError
from paperpred.testing.published_layout import (
    FOREIGN_ROOT,
    NULL_NORMALIZED_EVERY,
    PLANTED_HEADER,
    write_published_layout,
)


@pytest.fixture(scope="module")
def layout(tmp_path_factory) -> Path:
    return write_published_layout(tmp_path_factory.mktemp("published"))


@pytest.fixture(scope="module")
def loaded(layout, iclr2017):
    loader = ICLRDataLoader(data_dir=layout / "copy", image_base_dir=layout / "copy")
    subs = list(loader.load_from_huggingface(str(layout / "dataset"), split="2017",
                                             load_images=True))
    return loader, subs


def _split_file(layout: Path) -> Path:
    return next((layout / "dataset").rglob("*.parquet"))


def test_the_layout_is_the_published_one(layout):
    table = pq.read_table(_split_file(layout))
    assert table.schema.names == [
        "submission_id", "year", "openreview_link", "pdf_download_link", "title",
        "original_abstract", "no_github_abstract", "original_md_path", "clean_md_path",
        "images_in_clean_md", "clean_pdf_img_paths", "original_reviews", "normalized_reviews",
        "original_metareview", "normalized_metareview", "technical_indicators",
        "metadata_of_changes", "submission_json", "content_list_json", "_pdf_path",
        "_mineru_path", "_normalized_path"]
    assert all(t == pa.string() for n, t in zip(table.schema.names, table.schema.types)
               if n != "year")
    row = table.slice(1, 1).to_pylist()[0]
    assert row["clean_md_path"].startswith(FOREIGN_ROOT) and not Path(FOREIGN_ROOT).exists()
    assert isinstance(json.loads(row["normalized_reviews"])[0], str)  # JSON strings in a list


def test_golden_labels_reviews_ratings_markdown_pages(loaded, iclr2017):
    """Everything the bundled sample knows arrives through the published layout."""
    loader, subs = loaded
    assert loader.report.loaded == len(iclr2017) == 489 and not loader.report.skipped
    assert not loader.report.missing_files
    assert loader.report.found_files == {"clean_md_path": 489, "clean_pdf_img_paths": 489}
    sample = {s.submission_id: s for s in iclr2017}
    for index, sub in enumerate(subs):
        want = sample[sub.submission_id]
        assert sub.get_binary_label() == want.get_binary_label()
        assert sub.get_multiclass_label() == want.get_multiclass_label()
        assert sub.ratings == want.ratings
        assert [r.confidence for r in sub.reviews] == [r.confidence for r in want.reviews]
        assert sub.labels["mean_rating"] == pytest.approx(want.labels["mean_rating"])
        assert sub.labels["rating_percentile"] == pytest.approx(want.labels["rating_percentile"])
        assert sub.abstract == want.abstract and sub.keywords == want.keywords
        assert bool(sub.meta_review) == bool(want.meta_review)
        field = "text" if index % NULL_NORMALIZED_EVERY == 0 else "summary"  # the fallback
        assert [getattr(r, field) for r in sub.reviews] == [r.text for r in want.reviews]
        assert sub.markdown is None and sub.markdown_path.is_file()
        assert want.abstract in sub.full_text()
        assert sub.markdown_path.is_relative_to(loader.data_dir)
    first = subs[0]
    assert [p.name for p in first.page_images] == [f"page_{n}.png" for n in range(12)]
    assert all(len(s.page_images) == 3 for s in subs[1:])


def test_citation_counts_become_within_year_percentiles(loaded):
    _, subs = loaded
    labelled = [s for s in subs if "citation_percentile" in s.labels]
    assert {s.labels["citation_source"] for s in labelled} == {"gs_citations_published"}
    assert 400 < len(labelled) < 489  # a count of 0 means "not found": no label
    counts = sorted((s.metadata["gs_citations_published"], s.labels["citation_percentile"])
                    for s in labelled)
    assert [p for _, p in counts] == sorted(p for _, p in counts)
    assert counts[0][1] < 0.05 and counts[-1][1] == pytest.approx(1.0, abs=0.01)  # mid-ranks


def test_lazily_read_markdown_is_scrubbed_and_meta_review_never_shown(loaded):
    _, subs = loaded
    sub = next(s for s in subs if s.meta_review)
    assert PLANTED_HEADER in sub.full_text()
    prompt = get_input_formatter("full_context").build(sub, "Accept or reject?")
    assert sub.abstract[:60] in prompt.user and "# INTRODUCTION" in prompt.user
    assert PLANTED_HEADER not in prompt.user and sub.meta_review[:80] not in prompt.user
    # A formatter that shows no full text never reads the file.
    sub.markdown_path = sub.markdown_path.with_name("gone.md")
    assert "INTRODUCTION" not in get_input_formatter("abstract_only").build(sub).user


def test_quick_start_on_a_local_copy_gives_metrics(layout, embedded_model):
    """The spec's Quick Start with a local copy of the dataset, then predict_with_evaluation."""
    from paperpred import (
        InputModality,
        OutputType,
        PredictorConfig,
        TrainingMode,
        UnifiedPredictor,
    )

    loader = ICLRDataLoader()
    submissions = list(loader.load_from_huggingface(str(layout / "dataset"), split="2017"))
    predictor = UnifiedPredictor.create(
        input_modality=InputModality.TEXT_ONLY, output_type=OutputType.BINARY,
        training_mode=TrainingMode.ZERO_SHOT,
        config=PredictorConfig(model_name_or_path="smollm2-135m-instruct", batch_size=4),
        input_kwargs={"include_reviews": False})
    try:
        result = predictor.predict_with_evaluation(submissions[:6])
    finally:
        predictor.close()
    metrics = result["metrics"]
    assert metrics["n"] == 6 and metrics["n_excluded_no_label"] == 0
    assert metrics["accuracy"] is not None and metrics["auc"] is not None


def test_split_selection(layout):
    path = str(layout / "dataset")
    assert len(list(ICLRDataLoader().load_from_huggingface(path, split="all"))) == 489
    assert list(ICLRDataLoader().load_from_huggingface(path, split="2019")) == []
    with pytest.raises(PaperpredError, match="split 'test' not found; splits: 2017"):
        list(ICLRDataLoader().load_from_huggingface(path, split="test"))
    materialised = list(ICLRDataLoader(percentiles=False).load_from_huggingface(
        path, split="2017", streaming=False))
    streamed = list(ICLRDataLoader(percentiles=False).load_from_huggingface(path, split="2017"))
    assert [s.to_dict() for s in materialised] == [s.to_dict() for s in streamed]


def test_without_roots_nothing_is_opened_and_it_is_said(layout):
    loader = ICLRDataLoader(strict=True)  # strict, yet no root given is not an error
    subs = list(loader.load_from_huggingface(str(layout / "dataset"), split="2017",
                                             load_images=True))
    assert all(s.markdown_path is None and not s.page_images for s in subs)
    assert loader.report.missing_files[("clean_md_path", "no data_dir given")] == 489
    assert "files not opened (clean_md_path no data_dir given: 489" in loader.report.summary()


def _one_row_copy(layout: Path, tmp_path: Path, **changes) -> tuple[Path, str]:
    rows = pq.read_table(_split_file(layout)).slice(1, 2).to_pylist()
    rows[0].update(changes)
    folder = tmp_path / "dataset" / "data"
    folder.mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(rows), folder / "2017-00000-of-00001.parquet")
    return tmp_path / "dataset", rows[0]["submission_id"]


def test_missing_files_are_counted_by_reason_or_raise_naming_the_row(layout, tmp_path):
    dataset, sid = _one_row_copy(layout, tmp_path)
    copy = tmp_path / "copy"
    shutil.copytree(layout / "copy", copy)
    (copy / "normalized" / "2017" / sid / f"{sid}.md").unlink()
    (copy / "normalized" / "2017" / sid / "redacted_pdf_img_content" / "page_1.png").unlink()
    lenient = ICLRDataLoader(data_dir=copy, image_base_dir=copy, strict=False)
    subs = list(lenient.load_from_huggingface(str(dataset), load_images=True))
    assert len(subs) == 2  # the rows load; their missing files are counted
    assert subs[0].markdown_path is None and subs[0].page_images == []
    assert subs[1].markdown_path is not None and len(subs[1].page_images) == 3
    assert dict(lenient.report.missing_files) == {
        ("clean_md_path", "not found (data_dir)"): 1,
        ("clean_pdf_img_paths", "not found (image_base_dir)"): 1}
    with pytest.raises(DataError) as info:
        list(ICLRDataLoader(data_dir=copy, image_base_dir=copy).load_from_huggingface(
            str(dataset), load_images=True))
    text = str(info.value)
    assert "row 1" in text and "clean_md_path" in text and f"{sid}.md" in text
    assert "split 2017" in text and "fix:" in text


def test_paths_that_leave_the_root_are_never_opened(layout, tmp_path):
    secret = tmp_path / "secret.md"
    secret.write_text("outside")
    dataset, sid = _one_row_copy(layout, tmp_path)
    split = next(dataset.rglob("*.parquet"))
    rows = pq.read_table(split).to_pylist()
    rows[0]["clean_md_path"] = f"{FOREIGN_ROOT}/normalized/2017/{sid}/{'../' * 8}{secret}"
    pq.write_table(pa.Table.from_pylist(rows), split)
    copy = tmp_path / "copy"
    shutil.copytree(layout / "copy", copy)
    # A symlink inside the copy that points outside it is refused as well.
    other = rows[1]["submission_id"]
    md = copy / "normalized" / "2017" / other / f"{other}.md"
    md.unlink()
    os.symlink(secret, md)
    loader = ICLRDataLoader(data_dir=copy, strict=False)
    subs = list(loader.load_from_huggingface(str(dataset)))
    assert [s.markdown_path for s in subs] == [None, None]
    assert loader.report.missing_files[("clean_md_path", "outside the root (data_dir)")] == 2


def test_normalized_review_objects_and_unrated_reviews(layout, tmp_path):
    reviews = [{"summary": "S", "strengths": "good", "weaknesses": "bad",
                "questions": ["Why?", "How?"], "sources": []},
               {"summary": "T", "strengths": "", "weaknesses": ""}]
    original = [{"recommendation": "6: marginally above the acceptance threshold",
                 "confidence": "4: You are confident in your assessment",
                 "main_review": "long"}, {"recommendation": "0", "confidence": "3"}]
    dataset, _ = _one_row_copy(layout, tmp_path, normalized_reviews=json.dumps(reviews),
                               original_reviews=json.dumps(original),
                               technical_indicators=json.dumps({
                                   "binary_decision": "accept", "specific_decision": "spotlight",
                                   "citations": 0, "ratings": [6, 0]}),
                               submission_json=None)
    sub = next(ICLRDataLoader().load_from_huggingface(str(dataset)))
    assert sub.get_multiclass_label() == "Accept (Spotlight)"
    assert [r.rating for r in sub.reviews] == [6.0, None] and sub.labels["mean_rating"] == 6
    assert sub.reviews[0].questions == "- Why?\n- How?" and sub.reviews[0].confidence == 4
    assert "citation_percentile" not in sub.labels  # a count of 0 is "not found"


def test_embedded_page_images_go_to_the_vision_formatters(tmp_path, iclr2017):
    """The vision dataset shape: paper_id, title, content, metadata, label, images."""
    import datasets
    from PIL import Image

    rows = [{"paper_id": s.submission_id, "title": s.title, "content": s.abstract,
             "metadata": json.dumps({"year": s.year}), "label": s.get_binary_label(),
             "images": [Image.new("RGB", (40, 52), "white"), Image.new("RGB", (40, 52), "gray")]}
            for s in iclr2017[:3]]
    datasets.Dataset.from_list(rows).save_to_disk(str(tmp_path / "vision"))
    subs = list(ICLRDataLoader().load_from_huggingface(str(tmp_path / "vision"),
                                                       load_images=True))
    assert [s.get_binary_label() for s in subs] == [s.get_binary_label() for s in iclr2017[:3]]
    prompt = get_input_formatter("images_with_title").build(subs[0], "Accept or reject?")
    assert len(prompt.images) == 2 and prompt.images[1].size == (40, 52)


def test_inspect_prints_counts_and_missing_files(layout, capsys):
    dataset = str(layout / "dataset")
    assert main(["data", "inspect", dataset, "--split", "2017"]) == 0
    out = capsys.readouterr().out
    assert "2017" in out and "Reviews per paper: mean" in out
    assert "clean_md_path" in out and "files not opened: no data_dir given" in out
    copy = str(layout / "copy")
    assert main(["data", "inspect", dataset, "--data-dir", copy, "--image-base-dir", copy]) == 0
    out = capsys.readouterr().out
    assert "clean_md_path                  489 found" in out
    assert "clean_pdf_img_paths            489 found" in out and "not opened" not in out
