"""Deterministic train/val/test splits and class balancing.

Two ways to split, both returning a :class:`Split` (which unpacks as ``train, val, test``):

* :func:`split_by_year`: by conference year, as the spec's examples do (train < 2024, test
  >= 2024), so that a model is tested on papers newer than everything it trained on.
* :func:`stratified_split`: train/val/test (85/5/10 by default) with a fixed seed, each class
  split in proportion.

Submissions without a label (withdrawn, desk-rejected, unknown decision) are left out by
default and counted in :attr:`Split.excluded_reasons`, never dropped silently.

Results depend only on the seed and on the set of submissions, not on their input order: each
class is ordered by ``submission_id`` before it is shuffled with its own seeded generator, and
every returned list keeps the input order.
"""

from __future__ import annotations

import logging
import math
import random
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from paperpred.data.submission import Submission
from paperpred.errors import DataError, PaperpredError

T = TypeVar("T")

log = logging.getLogger(__name__)

LabelFn = Callable[[Submission], Hashable | None]
LabelSpec = str | LabelFn
SPLIT_NAMES: tuple[str, str, str] = ("train", "val", "test")


@dataclass
class Split:
    """A train/val/test split. Unpacks as a 3-tuple: ``train, val, test = split``.

    Attributes:
        train, val, test: the submissions of each part, in input order.
        excluded: submissions in no part (no label, or a year outside the split).
        excluded_reasons: why, as counts (``{"no label (Withdrawn)": 3}``).
    """

    train: list[Submission]
    val: list[Submission]
    test: list[Submission]
    excluded: list[Submission] = field(default_factory=list)
    excluded_reasons: dict[str, int] = field(default_factory=dict)

    def __iter__(self) -> Iterator[list[Submission]]:
        return iter((self.train, self.val, self.test))

    def sizes(self) -> dict[str, int]:
        """Number of submissions per part, plus ``excluded``."""
        return {
            "train": len(self.train),
            "val": len(self.val),
            "test": len(self.test),
            "excluded": len(self.excluded),
        }

    def ids(self) -> dict[str, list[str]]:
        """Submission ids per part: record them in a run folder to rebuild the split."""
        return {name: [s.submission_id for s in part]
                for name, part in zip(SPLIT_NAMES, self, strict=True)}

    def summary(self) -> str:
        """One line, for example ``train 417, val 24, test 48; excluded 3 (no label ...: 3)``."""
        sizes = self.sizes()
        text = f"train {sizes['train']}, val {sizes['val']}, test {sizes['test']}"
        text += f"; excluded {sizes['excluded']}"
        if self.excluded_reasons:
            text += " (" + ", ".join(f"{k}: {v}" for k, v in self.excluded_reasons.items()) + ")"
        return text


# ----- labels -----------------------------------------------------------------------------
def multiclass_or_binary_label(submission: Submission) -> str | None:
    """The four-way label; an acceptance whose tier is not stated counts as ``"Accept"``."""
    return submission.get_multiclass_label() or submission.get_binary_label()


def resolve_label_fn(spec: LabelSpec) -> LabelFn:
    """Turn ``"binary"``, ``"multiclass"`` or a callable into a label function.

    Args:
        spec: ``"binary"`` (Accept/Reject), ``"multiclass"`` (Reject, Accept (Poster),
            Accept (Spotlight), Accept (Oral); an untiered acceptance is its own class
            ``"Accept"``) or a callable ``submission -> label or None``.

    Returns:
        A callable; it returns None for a submission without a label.

    Raises:
        PaperpredError: ``spec`` is none of these.
    """
    if callable(spec):
        return spec
    if spec == "binary":
        return Submission.get_binary_label
    if spec == "multiclass":
        return multiclass_or_binary_label
    raise PaperpredError(f"label must be 'binary', 'multiclass' or a callable, got {spec!r}")


def _unlabelled_reason(sub: Submission, spec: LabelSpec) -> str:
    if callable(spec):
        return "no label (label function returned None)"
    return f"no label ({sub.normalized_decision.value})"


# ----- by year ----------------------------------------------------------------------------
def split_by_year(
    submissions: Iterable[Submission],
    test_years: int | Iterable[int] | None = None,
    val_years: int | Iterable[int] | None = None,
    *,
    test_from: int | None = None,
    train_before: int | None = None,
    train_years: int | Iterable[int] | None = None,
    label_fn: LabelSpec | None = "binary",
) -> Split:
    """Split by conference year.

    Example (the spec's split, train < 2024 and test >= 2024, with 2023 as validation):

        >>> train, val, test = split_by_year(subs, test_from=2024, val_years=2023)  # doctest: +SKIP

    Args:
        submissions: the submissions.
        test_years: the test years (one or several); or give ``test_from``.
        val_years: the validation years (None: no validation part).
        test_from: test on every year >= this one (instead of ``test_years``).
        train_before: train only on years < this one (default: every year not used by val
            or test).
        train_years: train only on these years (instead of ``train_before``).
        label_fn: ``"binary"``, ``"multiclass"`` or a callable; submissions it gives no label
            are excluded and counted. None keeps every submission (for rating targets).

    Returns:
        A :class:`Split`; submissions whose year is in no part are in ``excluded``.

    Raises:
        PaperpredError: conflicting or missing year options, or one year in two parts.
        DataError: the train or test part (or val, when asked for) comes out empty.
    """
    if (test_years is None) == (test_from is None):
        raise PaperpredError("split_by_year needs exactly one of test_years or test_from")
    if train_years is not None and train_before is not None:
        raise PaperpredError("split_by_year takes train_years or train_before, not both")
    if train_before is not None and test_from is not None and train_before > test_from:
        raise PaperpredError(
            f"train_before={train_before} overlaps test_from={test_from}: years "
            f"{test_from}..{train_before - 1} would be in both train and test"
        )
    tests, vals, trains = _years(test_years), _years(val_years), _years(train_years)

    def parts_of(year: int) -> list[int]:
        in_test = year in tests if tests is not None else year >= int(test_from or 0)
        in_val = vals is not None and year in vals
        if trains is not None:
            in_train = year in trains
        elif train_before is not None:
            in_train = year < train_before
        else:
            in_train = not (in_test or in_val)
        return [i for i, inside in enumerate((in_train, in_val, in_test)) if inside]

    fn = resolve_label_fn(label_fn) if label_fn is not None else None
    parts: list[list[Submission]] = [[], [], []]
    excluded: list[Submission] = []
    reasons: Counter[str] = Counter()
    seen_years: set[int] = set()
    for sub in submissions:
        seen_years.add(sub.year)
        where = parts_of(sub.year)
        if len(where) > 1:
            names = " and ".join(SPLIT_NAMES[i] for i in where)
            raise PaperpredError(f"year {sub.year} is in both {names}; give disjoint years")
        if fn is not None and fn(sub) is None:
            excluded.append(sub)
            reasons[_unlabelled_reason(sub, label_fn)] += 1  # type: ignore[arg-type]
        elif not where:
            excluded.append(sub)
            reasons[f"year {sub.year} in no part"] += 1
        else:
            parts[where[0]].append(sub)
    wanted = [True, vals is not None, True]
    for name, part, want in zip(SPLIT_NAMES, parts, wanted, strict=True):
        if want and not part:
            raise DataError(
                "empty split", f"the {name} part is empty",
                field="year",
                fix=f"choose {name} years among those present: {sorted(seen_years)}",
            )
    split = Split(parts[0], parts[1], parts[2], excluded=excluded,
                  excluded_reasons=dict(sorted(reasons.items())))
    log.info("split by year: %s", split.summary())
    return split


def _years(value: int | Iterable[int] | None) -> set[int] | None:
    if value is None:
        return None
    if isinstance(value, (int, str)):
        return {int(value)}
    return {int(v) for v in value}


# ----- stratified -------------------------------------------------------------------------
def stratified_split(
    submissions: Iterable[Submission],
    ratios: Sequence[float] = (0.85, 0.05, 0.10),
    seed: int = 42,
    stratify_by: LabelSpec = "multiclass",
) -> Split:
    """Split into train/val/test with every class split in proportion.

    Each class is split by largest-remainder rounding, so each part gets the floor or the
    ceiling of its exact share of every class. Rounding remainders carry from one class to the
    next (classes taken in sorted order), which keeps every part's total within one of its
    exact share of the whole.

    Args:
        submissions: the submissions.
        ratios: the (train, val, test) fractions; non-negative, summing to 1. A zero gives an
            empty part.
        seed: the random seed; the same seed and submissions give the same split.
        stratify_by: ``"multiclass"`` (default: preserves the oral/spotlight/poster/reject
            mix, hence also the accept rate), ``"binary"``, or a callable
            ``submission -> stratum``. Submissions without a label are excluded and counted;
            to keep them all, pass a callable that returns one constant.

    Returns:
        A :class:`Split` (unpacks as ``train, val, test``).

    Raises:
        PaperpredError: invalid ratios or ``stratify_by``.
        DataError: no submission has a label.
    """
    shares = _check_ratios(ratios)
    fn = resolve_label_fn(stratify_by)
    subs = list(submissions)
    strata: dict[Hashable, list[int]] = defaultdict(list)
    excluded: list[Submission] = []
    reasons: Counter[str] = Counter()
    for index, sub in enumerate(subs):
        key = fn(sub)
        if key is None:
            excluded.append(sub)
            reasons[_unlabelled_reason(sub, stratify_by)] += 1
        else:
            strata[key].append(index)
    if not strata:
        raise DataError(
            "no labels", f"none of the {len(subs)} submissions has a label to stratify by",
            field="decision", fix="check the decision column, or pass stratify_by=callable",
        )
    assignment: dict[int, int] = {}
    deficit = [0.0, 0.0, 0.0]
    for key in sorted(strata, key=_sort_key):
        members = sorted(strata[key], key=lambda i: subs[i].submission_id)
        random.Random(f"{seed}:{key!r}").shuffle(members)
        counts = _largest_remainder(len(members), shares, deficit)
        start = 0
        for part, count in enumerate(counts):
            for index in members[start : start + count]:
                assignment[index] = part
            start += count
    parts: list[list[Submission]] = [[], [], []]
    for index in sorted(assignment):
        parts[assignment[index]].append(subs[index])
    split = Split(parts[0], parts[1], parts[2], excluded=excluded,
                  excluded_reasons=dict(sorted(reasons.items())))
    log.info("stratified split (seed %s): %s", seed, split.summary())
    return split


def _check_ratios(ratios: Sequence[float]) -> list[float]:
    values = list(ratios)
    if len(values) != 3 or any(
        isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0 or math.isnan(v)
        for v in values
    ):
        raise PaperpredError(
            f"ratios must be three non-negative numbers (train, val, test), got {ratios!r}"
        )
    if not math.isclose(sum(values), 1.0, abs_tol=1e-6):
        raise PaperpredError(f"ratios must sum to 1, got {ratios!r} (sum {sum(values):g})")
    return [float(v) for v in values]


def _largest_remainder(n: int, shares: list[float], deficit: list[float]) -> list[int]:
    """Split ``n`` by ``shares``: floors, then one more to the parts with the largest carried
    remainders. Updates ``deficit`` (exact minus given, summed over the strata so far)."""
    quotas = [n * s for s in shares]
    counts = [math.floor(q + 1e-9) for q in quotas]
    for j in range(3):
        deficit[j] += quotas[j] - counts[j]
    leftover = n - sum(counts)
    # Only parts with a positive share may get a unit: a zero ratio means an empty part.
    candidates = sorted((j for j in range(3) if shares[j] > 0), key=lambda j: (-deficit[j], j))
    for j in candidates[:leftover]:
        counts[j] += 1
        deficit[j] -= 1
    return counts


def _sort_key(key: Hashable) -> tuple[str, str]:
    return (type(key).__name__, str(key))


# ----- balancing --------------------------------------------------------------------------
def balance_classes(
    submissions: Iterable[Submission],
    seed: int = 42,
    label_fn: LabelSpec = "binary",
) -> list[Submission]:
    """Downsample every class to the size of the smallest (50/50 for a binary label).

    Meant for training sets; leave test sets as they are, or balance them on purpose (the
    published ICLR 2025/26 reference numbers use a balanced test set).

    Args:
        submissions: the submissions.
        seed: the random seed of the downsampling.
        label_fn: ``"binary"`` (default), ``"multiclass"`` or a callable
            ``submission -> label or None``. Submissions without a label are dropped (and the
            number is logged).

    Returns:
        The kept submissions, in input order.

    Raises:
        PaperpredError: invalid ``label_fn``.
        DataError: fewer than two classes are present.
    """
    fn = resolve_label_fn(label_fn)
    subs = list(submissions)
    classes: dict[Hashable, list[int]] = defaultdict(list)
    for index, sub in enumerate(subs):
        label = fn(sub)
        if label is not None:
            classes[label].append(index)
    if len(classes) < 2:
        found = {str(k): len(v) for k, v in classes.items()}
        raise DataError(
            "one class", f"cannot balance classes: found {found or 'no labels'}",
            field="decision", fix="balance a set that holds at least two classes",
        )
    size = min(len(members) for members in classes.values())
    keep: set[int] = set()
    for label, members in classes.items():
        ordered = sorted(members, key=lambda i: subs[i].submission_id)
        keep.update(random.Random(f"{seed}:{label!r}").sample(ordered, size))
    dropped_unlabelled = len(subs) - sum(len(v) for v in classes.values())
    log.info(
        "balanced %d classes to %d each: kept %d of %d (%d without a label dropped)",
        len(classes), size, len(keep), len(subs), dropped_unlabelled,
    )
    return [subs[i] for i in sorted(keep)]


# ----- ordering ---------------------------------------------------------------------------
def interleave_classes(items: Sequence[T], label_fn: Callable[[T], Hashable], seed: int = 42
                       ) -> list[T]:
    """Reorder ``items`` so that the classes take turns (A, B, A, B, ... for two classes),
    each class shuffled with ``seed``: every run of ``k x number-of-classes`` consecutive items
    holds ``k`` of each class. Once the smaller classes run out, the rest follow shuffled.
    Nothing is dropped.

    Used for GRPO's stratified batches: with TRL's shuffling off, each step's prompts are
    consecutive items, so each step sees the classes in equal numbers.
    """
    classes: dict[Hashable, list[T]] = defaultdict(list)
    for item in items:
        classes[label_fn(item)].append(item)
    queues = []
    for label in sorted(classes, key=_sort_key):
        members = list(classes[label])
        random.Random(f"{seed}:{label!r}").shuffle(members)
        queues.append(members)
    ordered: list[T] = []
    for turn in range(max((len(q) for q in queues), default=0)):
        ordered.extend(q[turn] for q in queues if turn < len(q))
    return ordered
