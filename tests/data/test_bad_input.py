"""Bad input: strict mode raises one error naming file, row and field; lenient mode skips the
row and counts it by reason. One test pair per kind of bad input."""

import csv
import json

import pytest

from paperpred.data import ICLRDataLoader
from paperpred.data.writers import CSV_COLUMNS, to_row
from paperpred.errors import DataError


def _write_csv(path, rows, columns=CSV_COLUMNS):
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.fixture
def rows(sample):
    return [to_row(sub) for sub in sample[:5]]


def _check(path, loader_method, row, field, reason, fix_word, loaded):
    with pytest.raises(DataError) as info:
        list(getattr(ICLRDataLoader(strict=True), loader_method)(path))
    error = info.value
    assert (error.row, error.field, error.reason) == (row, field, reason)
    message = str(error)
    assert str(path) in message and f"row {row}" in message and f"'{field}'" in message
    assert "fix:" in message and fix_word in message
    lenient = ICLRDataLoader(strict=False)
    got = list(getattr(lenient, loader_method)(path))
    assert len(got) == loaded
    assert lenient.report.skipped == {reason: 5 - loaded}
    assert lenient.report.rows_read == 5 and lenient.report.loaded == loaded
    return lenient.report


def test_missing_required_column(tmp_path, rows):
    columns = [c for c in CSV_COLUMNS if c != "title"]
    path = _write_csv(tmp_path / "no_title.csv", rows, columns)
    report = _check(path, "load_from_csv", 1, "title", "missing required field", "add", 0)
    assert "5 rows" in report.summary() or "skipped 5" in report.summary()


def test_malformed_json_in_review_cell(tmp_path, rows):
    rows[2]["standardized_reviews"] = '[{"rating": 6, "text": "unterminated}'
    path = _write_csv(tmp_path / "bad_json.csv", rows)
    _check(path, "load_from_csv", 3, "standardized_reviews", "malformed JSON", "JSON list", 4)


def test_non_numeric_year(tmp_path, rows):
    rows[1]["year"] = "twenty-seventeen"
    path = _write_csv(tmp_path / "bad_year.csv", rows)
    _check(path, "load_from_csv", 2, "year", "non-numeric year", "year", 4)


def test_empty_title(tmp_path, rows):
    rows[4]["title"] = "   "
    path = _write_csv(tmp_path / "empty_title.csv", rows)
    _check(path, "load_from_csv", 5, "title", "empty title", "title", 4)


def test_duplicate_submission_id(tmp_path, rows):
    rows[3]["submission_id"] = rows[0]["submission_id"]
    path = _write_csv(tmp_path / "dup.csv", rows)
    _check(path, "load_from_csv", 4, "submission_id", "duplicate submission_id", "one row", 4)


def test_missing_image_folder(tmp_path, sample):
    path = tmp_path / "five.jsonl"
    path.write_text("".join(json.dumps(s.to_dict()) + "\n" for s in sample[:5]))
    images = tmp_path / "images"
    for sub in sample[:5]:
        if sub is not sample[1]:
            (images / sub.submission_id).mkdir(parents=True)
            (images / sub.submission_id / "page_1.png").write_bytes(b"")
    with pytest.raises(DataError) as info:
        list(ICLRDataLoader(image_base_dir=images).load_from_jsonl(path, load_images=True))
    assert (info.value.row, info.value.field, info.value.reason) == (
        2, "page_images", "missing image folder")
    assert "render-pages" in str(info.value) and str(path) in str(info.value)
    lenient = ICLRDataLoader(image_base_dir=images, strict=False)
    got = list(lenient.load_from_jsonl(path, load_images=True))
    assert [s.submission_id for s in got] == [s.submission_id for s in sample[:5] if s is not sample[1]]
    assert lenient.report.skipped == {"missing image folder": 1}
    # Without load_images the folder is optional: nothing is skipped.
    assert len(list(ICLRDataLoader(image_base_dir=images).load_from_jsonl(path))) == 5


def test_malformed_jsonl_line(tmp_path, sample):
    path = tmp_path / "broken.jsonl"
    lines = [json.dumps(s.to_dict()) for s in sample[:3]]
    lines.insert(1, '{"id": "x", "year": 2017, "title": ')
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError) as info:
        list(ICLRDataLoader().load_from_jsonl(path))
    assert info.value.row == 2 and info.value.reason == "malformed JSON"
    lenient = ICLRDataLoader(strict=False)
    assert len(list(lenient.load_from_jsonl(path))) == 3
    assert lenient.report.skipped == {"malformed JSON": 1}


def test_review_with_rating_off_the_scale(tmp_path, rows):
    rows[0]["standardized_reviews"] = json.dumps([{"rating": 42}])
    path = _write_csv(tmp_path / "bad_rating.csv", rows)
    _check(path, "load_from_csv", 1, "standardized_reviews", "bad review", "", 4)
