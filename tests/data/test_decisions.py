"""Decision normalisation: every status string of ../shared/data (2017-2025) and the other
vocabularies ICLR used, with the labels each one gives."""

import gzip
import json
from pathlib import Path

import pytest

from paperpred.data.venue_decisions import Decision, normalize_decision

FIXTURES = Path(__file__).parent.parent / "fixtures"

# raw status string -> (Decision, binary label, multiclass label)
TABLE = {
    # every distinct status_raw of iclr_meta_2017_2025.jsonl and decision of iclr2017.jsonl
    "Oral": (Decision.ORAL, "Accept", "Accept (Oral)"),
    "Talk": (Decision.ORAL, "Accept", "Accept (Oral)"),
    "Top-5%": (Decision.ORAL, "Accept", "Accept (Oral)"),
    "ICLR 2025 Oral": (Decision.ORAL, "Accept", "Accept (Oral)"),
    "Spotlight": (Decision.SPOTLIGHT, "Accept", "Accept (Spotlight)"),
    "Top-25%": (Decision.SPOTLIGHT, "Accept", "Accept (Spotlight)"),
    "ICLR 2025 Spotlight": (Decision.SPOTLIGHT, "Accept", "Accept (Spotlight)"),
    "Poster": (Decision.POSTER, "Accept", "Accept (Poster)"),
    "ICLR 2025 Poster": (Decision.POSTER, "Accept", "Accept (Poster)"),
    "Workshop": (Decision.WORKSHOP, "Reject", "Reject"),
    "Reject": (Decision.REJECT, "Reject", "Reject"),
    "Submitted to ICLR 2025": (Decision.REJECT, "Reject", "Reject"),
    "Withdraw": (Decision.WITHDRAWN, None, None),
    "ICLR 2025 Conference Withdrawn Submission": (Decision.WITHDRAWN, None, None),
    "Desk Reject": (Decision.DESK_REJECT, None, None),
    "ICLR 2025 Conference Desk Rejected Submission": (Decision.DESK_REJECT, None, None),
    # other vocabularies of OpenReview exports
    "Invite to Workshop Track": (Decision.WORKSHOP, "Reject", "Reject"),
    "ICLR 2018 Conference Workshop Track": (Decision.WORKSHOP, "Reject", "Reject"),
    "Accept (Oral)": (Decision.ORAL, "Accept", "Accept (Oral)"),
    "Accept (Talk)": (Decision.ORAL, "Accept", "Accept (Oral)"),
    "Accept (Spotlight)": (Decision.SPOTLIGHT, "Accept", "Accept (Spotlight)"),
    "Accept (Poster)": (Decision.POSTER, "Accept", "Accept (Poster)"),
    "Accept: notable-top-5%": (Decision.ORAL, "Accept", "Accept (Oral)"),
    "Accept: notable-top-25%": (Decision.SPOTLIGHT, "Accept", "Accept (Spotlight)"),
    "Accept: poster": (Decision.POSTER, "Accept", "Accept (Poster)"),
    "Accept": (Decision.ACCEPT, "Accept", None),
    "Withdrawn": (Decision.WITHDRAWN, None, None),
    "Desk Rejected": (Decision.DESK_REJECT, None, None),
    "Unknown": (Decision.UNKNOWN, None, None),
    "": (Decision.UNKNOWN, None, None),
    "  reject  ": (Decision.REJECT, "Reject", "Reject"),
    "ORAL": (Decision.ORAL, "Accept", "Accept (Oral)"),
}


@pytest.mark.parametrize("raw", sorted(TABLE))
def test_table(raw):
    decision, binary, multiclass = TABLE[raw]
    assert normalize_decision(raw) is decision
    assert decision.binary_label == binary
    assert decision.multiclass_label == multiclass
    assert decision.has_label == (binary is not None)


def test_none_is_unknown():
    assert normalize_decision(None) is Decision.UNKNOWN


def test_table_covers_every_string_in_the_data():
    """Every status string in the real data is in TABLE, and agrees with the file's own
    normalised column."""
    seen = {}
    with gzip.open(FIXTURES / "iclr_meta_2017_2025.jsonl.gz", "rt") as handle:
        for line in handle:
            row = json.loads(line)
            seen[row["status_raw"]] = row["decision"]
    assert set(seen) <= set(TABLE), set(seen) - set(TABLE)
    for raw, expected in seen.items():
        assert normalize_decision(raw).value == expected, raw


def test_bundled_2017_decisions(sample):
    counts = {}
    for sub in sample:
        counts[sub.decision] = counts.get(sub.decision, 0) + 1
    assert counts == {"Reject": 244, "Poster": 183, "Workshop": 47, "Oral": 15}
    assert all(s.has_label for s in sample)
