"""ICLRDataLoader on real rows: JSON lines, the spec's CSV, parquet, HF datasets, images."""

import json
from pathlib import Path

import pytest

from paperpred import ICLRDataLoader, Submission, load_sample
from paperpred.data.writers import write_submissions

FIXTURES = Path(__file__).parent.parent / "fixtures"
META = FIXTURES / "iclr_meta_2017_2025.jsonl.gz"


def test_load_sample_in_one_call():
    subs = load_sample()
    assert len(subs) == 489 and all(isinstance(s, Submission) for s in subs)
    with pytest.raises(Exception, match="row 303.*title"):
        load_sample(strict=True)  # the one empty-title row of the real data


def test_loading_is_lazy(sample, tmp_path):
    loader = ICLRDataLoader(strict=False, percentiles=False)
    iterator = loader.load_from_jsonl(Path(sample_path_str()))
    first = next(iterator)
    assert first.submission_id == "B1-Hhnslg" and loader.report.rows_read == 1


def sample_path_str():
    from paperpred.data import sample_path

    return str(sample_path())


def test_sample_fields(sample):
    sub = next(s for s in sample if s.submission_id == "B1-Hhnslg")
    assert sub.title == "Prototypical Networks for Few-shot Learning"
    assert sub.year == 2017 and sub.decision == "Reject" and sub.get_binary_label() == "Reject"
    assert [r.rating for r in sub.reviews] == [5.0, 6.0, 4.0] or sorted(sub.ratings) == [4, 5, 6]
    assert sub.labels["mean_rating"] == pytest.approx(5.0)
    assert sub.keywords == ["Deep learning", "Transfer Learning"]
    assert sub.meta_review and "metadata" not in sub.metadata
    assert sub.metadata["gs_citation_papercopilot"] == 10893  # raw fields kept whole


def test_rating_percentiles_follow_ratings_within_a_year(sample):
    pairs = sorted((s.labels["mean_rating"], s.labels["rating_percentile"]) for s in sample)
    assert all(0.0 <= p <= 1.0 for _, p in pairs)
    assert [p for _, p in pairs] == sorted(p for _, p in pairs)  # monotone in the rating
    assert pairs[0][1] == 0.0 and pairs[-1][1] == pytest.approx(1.0, abs=0.01)


def test_citation_percentiles_use_one_source_per_year(sample):
    sources = {s.labels.get("citation_source") for s in sample if "citation_percentile" in s.labels}
    assert sources == {"s2_citations_2020"}
    # The two papers without a Semantic Scholar count (-1 in the dump) get no label.
    assert sum("citation_percentile" not in s.labels for s in sample) == 1
    by_count = sorted((float(s.metadata["s2_citations_2020"]), s.labels["citation_percentile"])
                      for s in sample if "citation_percentile" in s.labels)
    assert [p for _, p in by_count] == sorted(p for _, p in by_count)


def test_metadata_only_dump_with_all_years():
    loader = ICLRDataLoader(strict=False)
    subs = list(loader.load_from_jsonl(META))
    assert len(subs) == 27725 and loader.report.skipped == {"empty title": 1}
    by_year = {}
    for s in subs:
        by_year.setdefault(s.year, []).append(s)
    assert sorted(by_year) == [2017, 2019, 2020, 2021, 2022, 2023, 2025]
    assert loader.report.derived_ids == len(by_year[2025]) == 11672
    assert len({s.submission_id for s in subs}) == len(subs)
    assert all(not s.reviews and "mean_rating" not in s.labels for s in by_year[2025])
    assert {s.labels.get("citation_source") for s in by_year[2020]} <= {"s2_citations", None}
    withdrawn = [s for s in by_year[2025] if not s.has_label]
    assert len(withdrawn) == 2937 + 70


def test_csv_in_the_spec_schema(tmp_path):
    path = tmp_path / "spec.csv"
    reviews = json.dumps([{"summary": "S", "strengths": "A", "weaknesses": "B",
                           "rating": 8, "confidence": 4}, {"text": "T", "rating": "6: ok"}])
    import csv

    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["submission_id", "year", "title", "original_abstract", "decision",
                         "clean_md", "standardized_reviews", "citation_percentile"])
        writer.writerow(["abc", "2024", "A title", "An abstract", "Accept (Oral)", "# Intro\n",
                         reviews, "0.73"])
        writer.writerow(["def", "2024.0", "B title", "", "Reject", "", "", ""])
    subs = list(ICLRDataLoader().load_from_csv(path))
    assert [s.submission_id for s in subs] == ["abc", "def"]
    assert subs[0].labels["citation_percentile"] == 0.73
    assert "citation_source" not in subs[0].labels  # given, not computed
    assert subs[0].get_multiclass_label() == "Accept (Oral)" and subs[0].markdown == "# Intro\n"
    assert subs[0].labels["mean_rating"] == 7.0 and subs[0].reviews[0].summary == "S"
    assert subs[1].year == 2024 and subs[1].reviews == [] and subs[1].abstract == ""
    assert "citation_percentile" not in subs[1].labels


def test_data_dir_resolves_relative_paths(tmp_path, sample):
    write_submissions(sample[:3], tmp_path / "x.jsonl")
    subs = list(ICLRDataLoader(data_dir=tmp_path).load_from_jsonl("x.jsonl"))
    assert len(subs) == 3


def test_missing_file_is_one_clear_error(tmp_path):
    with pytest.raises(Exception, match="no such file"):
        list(ICLRDataLoader().load_from_csv(tmp_path / "nope.csv"))


def test_page_images_are_found_in_page_order(tmp_path, sample):
    sub = sample[0]
    folder = tmp_path / sub.submission_id
    folder.mkdir()
    for n in (1, 2, 10, 3, 11):
        (folder / f"page_{n}.png").write_bytes(b"")
    (folder / "notes.txt").write_text("not an image")
    path = tmp_path / "one.jsonl"
    write_submissions([sub], path)
    loaded = next(ICLRDataLoader(image_base_dir=tmp_path).load_from_jsonl(path, load_images=True))
    assert [p.name for p in loaded.page_images] == [
        "page_1.png", "page_2.png", "page_3.png", "page_10.png", "page_11.png"]


def test_huggingface_local_parquet_and_year_split(tmp_path, sample):
    import datasets

    subs_2017 = sample[:4]
    other = [Submission(**{**s.__dict__, "submission_id": s.submission_id + "-b", "year": 2024,
                           "_page_images": None}) for s in sample[4:7]]
    folder = tmp_path / "hf"
    folder.mkdir()
    write_submissions(subs_2017 + other, folder / "train.parquet")
    loader = ICLRDataLoader()
    assert len(list(loader.load_from_huggingface(str(folder), split="all"))) == 7
    got = list(loader.load_from_huggingface(str(folder), split="2024"))
    assert [s.year for s in got] == [2024, 2024, 2024]
    # A dataset saved with save_to_disk, with hub-style field aliases and a split per year.
    rows = [{"id": s.submission_id, "year": s.year, "title": s.title,
             "abstract": s.abstract, "decision": s.decision,
             "reviews_json": json.dumps([r.to_dict() for r in s.reviews]),
             "markdown": "# Text"} for s in subs_2017]
    saved = tmp_path / "saved"
    datasets.DatasetDict({"2017": datasets.Dataset.from_list(rows)}).save_to_disk(str(saved))
    got = list(ICLRDataLoader().load_from_huggingface(str(saved), split="2017"))
    assert [s.submission_id for s in got] == [s.submission_id for s in subs_2017]
    assert got[0].reviews == subs_2017[0].reviews and got[0].markdown == "# Text"
    with pytest.raises(Exception, match="split 'train' not found; splits: 2017"):
        list(ICLRDataLoader().load_from_huggingface(str(saved), split="train"))


def test_huggingface_images_column(tmp_path, sample):
    import datasets
    from PIL import Image

    rows = [{"submission_id": s.submission_id, "year": s.year, "title": s.title,
             "images": [Image.new("RGB", (8, 10), "white"), Image.new("RGB", (8, 10), "black")]}
            for s in sample[:2]]
    ds = datasets.Dataset.from_list(rows)
    path = tmp_path / "imgs"
    ds.save_to_disk(str(path))
    with_images = list(ICLRDataLoader().load_from_huggingface(str(path), load_images=True))
    assert len(with_images[0].page_images) == 2
    assert with_images[0].page_images[1].getpixel((0, 0)) == (0, 0, 0)
    without = list(ICLRDataLoader().load_from_huggingface(str(path)))
    assert without[0].page_images == [] and "images" not in without[0].metadata


def test_unreachable_hub_dataset_fails_in_one_line():
    with pytest.raises(Exception, match="local path") as info:
        list(ICLRDataLoader().load_from_huggingface("skonan/iclr-reviews-2020-2026", split="2024"))
    assert "\n" not in str(info.value)


def test_truncated_ten_ratings_of_the_2017_export_are_repaired(sample):
    """The 2017 export cut "10: Top 5% ..." to "1" in a few review objects; the row's own
    ratings list tells (H1oyRlYgg: reviews [8, 1, 6], ratings [6, 8, 10])."""
    by_id = {s.submission_id: s for s in sample}
    assert [r.rating for r in by_id["H1oyRlYgg"].reviews] == [8.0, 10.0, 6.0]
    assert by_id["H1oyRlYgg"].reviews[1].extra["rating_repaired_from"] == 1
    assert [r.rating for r in by_id["Sy8gdB9xx"].reviews] == [10.0, 9.0, 10.0]
    # A genuine 1 that its ratings list confirms is left alone.
    assert not any("rating_repaired_from" in r.extra
                   for s in sample for r in s.reviews if s.submission_id not in
                   ("H1oyRlYgg", "Sy8gdB9xx"))
