"""Splits and class balancing on real ICLR data: the bundled 2017 sample (489 labelled rows)
and the 2017-2025 meta fixture (27,725 rows, with withdrawn and desk-rejected papers)."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import pytest

from paperpred.data import ICLRDataLoader, Submission, load_sample
from paperpred.data.splits import (
    Split,
    balance_classes,
    interleave_classes,
    multiclass_or_binary_label,
    split_by_year,
    stratified_split,
)
from paperpred.errors import DataError, PaperpredError

META = Path(__file__).resolve().parents[1] / "fixtures" / "iclr_meta_2017_2025.jsonl.gz"
RATIOS = (0.85, 0.05, 0.10)


@pytest.fixture(scope="module")
def sample() -> list[Submission]:
    return load_sample(strict=False)


@pytest.fixture(scope="module")
def meta() -> list[Submission]:
    return list(ICLRDataLoader(strict=False, percentiles=False).load_from_jsonl(META))


def unlabelled_kind(sub: Submission) -> str | None:
    """Read off the raw status string ("Withdraw", "ICLR 2025 Conference Withdrawn
    Submission", "Desk Reject", ...) independently of the decision normaliser."""
    text = (sub.decision or "").lower()
    if "withdraw" in text:
        return "Withdrawn"
    if "desk reject" in text:
        return "Desk Reject"
    return None


def ids(subs: list[Submission]) -> list[str]:
    return [s.submission_id for s in subs]


def is_subsequence(part: list[Submission], whole: list[Submission]) -> bool:
    position = {id(s): i for i, s in enumerate(whole)}
    indices = [position[id(s)] for s in part]
    return indices == sorted(indices)


def within_rounding(count: int, exact: float) -> bool:
    return math.floor(exact + 1e-9) <= count <= math.ceil(exact - 1e-9)


# ----- stratified -------------------------------------------------------------------------
def test_sample_is_what_the_splits_are_tested_on(sample: list[Submission]) -> None:
    assert len(sample) == 489
    assert Counter(s.get_multiclass_label() for s in sample) == {
        "Reject": 291, "Accept (Poster)": 183, "Accept (Oral)": 15,
    }


def test_default_split_has_the_ratios_within_rounding(sample: list[Submission]) -> None:
    split = stratified_split(sample)
    assert isinstance(split, Split)
    train, val, test = split  # unpacks as a 3-tuple
    assert (train, val, test) == (split.train, split.val, split.test)
    for part, ratio in zip((train, val, test), RATIOS):
        assert abs(len(part) - ratio * len(sample)) < 1, (len(part), ratio)
    assert split.sizes() == {"train": 416, "val": 24, "test": 49, "excluded": 0}


def test_parts_are_disjoint_and_cover_every_labelled_submission(sample: list[Submission]) -> None:
    train, val, test = stratified_split(sample, seed=7)
    all_ids = ids(train) + ids(val) + ids(test)
    assert len(all_ids) == len(set(all_ids)) == len(sample)
    assert set(all_ids) == set(ids(sample))
    assert all(is_subsequence(part, sample) for part in (train, val, test))


@pytest.mark.parametrize("stratify_by", ["multiclass", "binary"])
def test_every_class_is_split_in_proportion(sample: list[Submission], stratify_by: str) -> None:
    split = stratified_split(sample, stratify_by=stratify_by)
    label = (
        multiclass_or_binary_label if stratify_by == "multiclass" else Submission.get_binary_label
    )
    totals = Counter(label(s) for s in sample)
    for part, ratio in zip(split, RATIOS):
        counts = Counter(label(s) for s in part)
        for cls, total in totals.items():
            assert within_rounding(counts[cls], total * ratio), (cls, counts[cls], total * ratio)
    # Stratifying by the four-way label also keeps the accept rate of each part.
    overall = sum(s.get_binary_label() == "Accept" for s in sample) / len(sample)
    for part in split:
        rate = sum(s.get_binary_label() == "Accept" for s in part) / len(part)
        assert abs(rate - overall) <= 3 / len(part)


def test_same_seed_same_split_and_input_order_does_not_matter(sample: list[Submission]) -> None:
    first = stratified_split(sample, seed=42)
    again = stratified_split(sample, seed=42)
    assert first.ids() == again.ids()
    reversed_split = stratified_split(list(reversed(sample)), seed=42)
    for part, other in zip(first, reversed_split):
        assert set(ids(part)) == set(ids(other))


def test_a_different_seed_gives_a_different_split(sample: list[Submission]) -> None:
    a = stratified_split(sample, seed=42)
    b = stratified_split(sample, seed=43)
    assert set(ids(a.test)) != set(ids(b.test))
    assert a.sizes() == b.sizes()  # the sizes depend on the class counts only


def test_zero_ratio_gives_an_empty_part(sample: list[Submission]) -> None:
    train, val, test = stratified_split(sample, ratios=(0.9, 0.0, 0.1))
    assert val == []
    assert len(train) + len(test) == len(sample)


def test_unlabelled_are_excluded_and_counted(meta: list[Submission]) -> None:
    raw = Counter(unlabelled_kind(s) for s in meta)
    assert raw["Withdrawn"] > 1000 and raw["Desk Reject"] > 100
    split = stratified_split(meta)
    assert split.excluded_reasons == {
        "no label (Desk Reject)": raw["Desk Reject"],
        "no label (Withdrawn)": raw["Withdrawn"],
    }
    assert len(split.excluded) == raw["Withdrawn"] + raw["Desk Reject"]
    assert all(not s.has_label for s in split.excluded)
    assert sum(len(p) for p in split) + len(split.excluded) == len(meta)
    assert "excluded" in split.summary() and "Withdrawn" in split.summary()


def test_a_constant_callable_keeps_every_submission(meta: list[Submission]) -> None:
    split = stratified_split(meta[:2000], stratify_by=lambda s: "all")
    assert split.excluded == [] and sum(len(p) for p in split) == 2000


def test_a_callable_can_stratify_by_year(meta: list[Submission]) -> None:
    split = stratified_split(meta, stratify_by=lambda s: s.year if s.has_label else None)
    totals = Counter(s.year for s in meta if s.has_label)
    test_years = Counter(s.year for s in split.test)
    for year, total in totals.items():
        assert within_rounding(test_years[year], total * 0.10)
    assert split.excluded_reasons == {
        "no label (label function returned None)": len(meta) - sum(totals.values())
    }


@pytest.mark.parametrize(
    "ratios", [(0.8, 0.2), (0.5, 0.5, 0.5), (1.1, -0.1, 0.0), (0.85, 0.05, float("nan"))]
)
def test_bad_ratios_are_refused(sample: list[Submission], ratios: tuple) -> None:
    with pytest.raises(PaperpredError, match="ratios"):
        stratified_split(sample, ratios=ratios)


def test_unknown_stratify_by_is_refused(sample: list[Submission]) -> None:
    with pytest.raises(PaperpredError, match="'binary', 'multiclass' or a callable"):
        stratified_split(sample, stratify_by="decade")


def test_nothing_labelled_is_a_data_error(meta: list[Submission]) -> None:
    withdrawn = [s for s in meta if unlabelled_kind(s) == "Withdrawn"][:50]
    with pytest.raises(DataError, match="none of the 50"):
        stratified_split(withdrawn)


# ----- by year ----------------------------------------------------------------------------
def test_the_spec_split_train_before_2024_test_from_2024(meta: list[Submission]) -> None:
    train, val, test = split = split_by_year(meta, test_from=2024)
    assert val == []
    assert {s.year for s in train} == {2017, 2019, 2020, 2021, 2022, 2023}
    assert {s.year for s in test} == {2025}
    labelled = [s for s in meta if s.has_label]
    assert len(train) == sum(s.year < 2024 for s in labelled)
    assert len(test) == sum(s.year >= 2024 for s in labelled)
    assert len(train) + len(test) + len(split.excluded) == len(meta)
    assert all(is_subsequence(part, meta) for part in split)


def test_validation_years_and_years_in_no_part(meta: list[Submission]) -> None:
    split = split_by_year(meta, test_years=[2025], val_years=2023, train_before=2021)
    assert {s.year for s in split.train} == {2017, 2019, 2020}
    assert {s.year for s in split.val} == {2023}
    assert {s.year for s in split.test} == {2025}
    labelled = Counter(s.year for s in meta if s.has_label)
    assert split.excluded_reasons["year 2021 in no part"] == labelled[2021]
    assert split.excluded_reasons["year 2022 in no part"] == labelled[2022]
    assert split.excluded_reasons["no label (Withdrawn)"] == sum(
        unlabelled_kind(s) == "Withdrawn" for s in meta
    )


def test_train_years_and_no_label_filter(meta: list[Submission]) -> None:
    split = split_by_year(meta, test_years=2025, train_years=[2022, 2023], label_fn=None)
    assert len(split.train) == sum(s.year in (2022, 2023) for s in meta)  # withdrawn kept
    assert len(split.test) == sum(s.year == 2025 for s in meta)
    assert not any(reason.startswith("no label") for reason in split.excluded_reasons)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({}, "exactly one of test_years or test_from"),
        ({"test_years": 2025, "test_from": 2024}, "exactly one"),
        ({"test_from": 2023, "val_years": 2023}, "year 2023 is in both val and test"),
        ({"test_from": 2024, "train_before": 2025}, "overlaps"),
        ({"test_years": 2025, "train_years": [2020], "train_before": 2021}, "not both"),
        ({"test_years": 2025, "train_years": [2019, 2025]}, "year 2025 is in both"),
    ],
)
def test_conflicting_year_options_are_refused(
    meta: list[Submission], kwargs: dict, message: str
) -> None:
    with pytest.raises(PaperpredError, match=message):
        split_by_year(meta, **kwargs)


def test_an_empty_test_part_is_a_data_error(sample: list[Submission]) -> None:
    with pytest.raises(DataError, match="test part is empty") as info:
        split_by_year(sample, test_from=2024)
    assert "2017" in str(info.value)  # the fix lists the years present


# ----- balancing ----------------------------------------------------------------------------
def test_balancing_gives_exactly_fifty_fifty(sample: list[Submission]) -> None:
    balanced = balance_classes(sample)
    counts = Counter(s.get_binary_label() for s in balanced)
    assert counts == {"Accept": 198, "Reject": 198}
    assert set(ids(s for s in sample if s.get_binary_label() == "Accept")) <= set(ids(balanced))
    assert is_subsequence(balanced, sample)


def test_balancing_is_deterministic_and_seeded(sample: list[Submission]) -> None:
    assert ids(balance_classes(sample, seed=1)) == ids(balance_classes(sample, seed=1))
    assert ids(balance_classes(sample, seed=1)) != ids(balance_classes(sample, seed=2))
    assert set(ids(balance_classes(list(reversed(sample)), seed=1))) == set(
        ids(balance_classes(sample, seed=1))
    )


def test_balancing_a_training_part(sample: list[Submission]) -> None:
    train, _, _ = stratified_split(sample)
    balanced = balance_classes(train)
    counts = Counter(s.get_binary_label() for s in balanced)
    assert counts["Accept"] == counts["Reject"] == Counter(
        s.get_binary_label() for s in train
    )["Accept"]


def test_multiclass_balancing_and_unlabelled_dropped(meta: list[Submission]) -> None:
    year_2019 = [s for s in meta if s.year == 2019]
    balanced = balance_classes(year_2019, label_fn="multiclass")
    counts = Counter(s.get_multiclass_label() for s in balanced)
    orals = sum(s.decision == "Oral" for s in year_2019)
    assert counts == {"Reject": orals, "Accept (Poster)": orals, "Accept (Oral)": orals}
    assert all(s.has_label for s in balanced)


def test_balancing_one_class_is_a_data_error(sample: list[Submission]) -> None:
    rejects = [s for s in sample if s.get_binary_label() == "Reject"]
    with pytest.raises(DataError, match="cannot balance"):
        balance_classes(rejects)


def test_interleave_classes_takes_turns_and_keeps_everything():
    items = [("a", i) for i in range(3)] + [("b", i) for i in range(5)]
    ordered = interleave_classes(items, lambda item: item[0], seed=1)
    assert sorted(ordered) == sorted(items)  # nothing dropped, nothing added
    assert [k for k, _ in ordered[:6]] == ["a", "b"] * 3
    assert [k for k, _ in ordered[6:]] == ["b", "b"]
    assert interleave_classes(items, lambda item: item[0], seed=1) == ordered
    orders = {tuple(interleave_classes(items, lambda item: item[0], seed=s)) for s in range(6)}
    assert len(orders) > 1  # each class is shuffled by the seed
