"""The `paperpred` command: help, version, one-line errors, data inspect/convert."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from paperpred import __version__
from paperpred.cli.main import main

META = Path(__file__).parent / "fixtures" / "iclr_meta_2017_2025.jsonl.gz"


def test_version_and_help(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0 and capsys.readouterr().out.strip() == f"paperpred {__version__}"
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "data" in out and "--debug" in out


def test_inspect_bundled_sample(capsys):
    assert main(["data", "inspect"]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("2017"))
    assert row.split()[:5] == ["2017", "15", "183", "47", "244+1r"]
    assert "empty title: 1" in out and "row 303" in out
    assert "Reviews per paper: mean 3.08" in out


def test_inspect_metadata_file_counts_of_the_data_readme(capsys):
    assert main(["data", "inspect", str(META), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    table = summary["by_year_decision"]
    # ../shared/data/README.md: Oral/Spotlight/Poster/Reject/Withdrawn per year
    readme = {"2019": (24, 0, 478, 921, 156), "2020": (48, 108, 531, 1526, 369),
              "2021": (53, 114, 693, 1756, 381), "2022": (55, 174, 866, 1582, 719),
              "2023": (91, 280, 1204, 2285, 1077), "2025": (213, 380, 3113, 4959, 2937)}
    for year, counts in readme.items():
        got = tuple(table[year].get(d, 0) for d in
                    ("Oral", "Spotlight", "Poster", "Reject", "Withdrawn"))
        assert got == counts, year
    assert summary["report"]["skipped"] == {"empty title": 1}
    assert summary["report"]["skipped_groups"] == [{"year": 2017, "decision": "Reject", "rows": 1}]


def test_convert_and_back(tmp_path, capsys):
    out = tmp_path / "sample.csv"
    assert main(["data", "convert", str(Path(__file__).parent / "fixtures" /
                                         "iclr_meta_2017_2025.jsonl.gz"), str(out)]) == 0
    assert "wrote 27725 submissions" in capsys.readouterr().out
    assert main(["data", "convert", str(out), str(tmp_path / "again.parquet")]) == 0
    assert "wrote 27725 submissions" in capsys.readouterr().out


def test_errors_are_one_line(tmp_path, capsys):
    assert main(["data", "inspect", str(tmp_path / "missing.jsonl")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("paperpred: error:") and "no such file" in err
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "year": "soon", "title": "T"}\n')
    assert main(["data", "inspect", "--strict", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "row 1" in err and "'year'" in err and "Traceback" not in err


def test_debug_shows_the_traceback(tmp_path, capsys):
    assert main(["--debug", "data", "inspect", str(tmp_path / "missing.jsonl")]) == 1
    assert "Traceback" in capsys.readouterr().err


def test_console_script_runs():
    result = subprocess.run([sys.executable, "-m", "paperpred", "--version"],
                            capture_output=True, text=True, check=True)
    assert result.stdout.strip() == f"paperpred {__version__}"


def test_render_pages_into_the_loader_layout(tmp_path, capsys):
    from reportlab.pdfgen import canvas

    from paperpred import ICLRDataLoader, load_sample
    from paperpred.data.writers import write_submissions

    subs = load_sample()[:2]
    pdfs = tmp_path / "pdfs"
    pdfs.mkdir()
    for sub in subs:
        pdf = canvas.Canvas(str(pdfs / f"{sub.submission_id}.pdf"), pagesize=(300, 400))
        for page in range(3):
            pdf.drawString(20, 300, f"{sub.title[:30]} page {page + 1}")
            pdf.showPage()
        pdf.save()
    (pdfs / "broken.pdf").write_bytes(b"%PDF-1.4 not really")
    images = tmp_path / "images"
    assert main(["data", "render-pages", str(pdfs), str(images), "--dpi", "50"]) == 1
    out = capsys.readouterr().out
    assert "rendered 2 PDFs (6 pages)" in out and "failed: broken" in out
    write_submissions(subs, tmp_path / "two.jsonl")
    loaded = list(ICLRDataLoader(image_base_dir=images).load_from_jsonl(
        tmp_path / "two.jsonl", load_images=True))
    assert [len(s.page_images) for s in loaded] == [3, 3]
    assert [p.name for p in loaded[0].page_images] == ["page_001.png", "page_002.png",
                                                       "page_003.png"]
