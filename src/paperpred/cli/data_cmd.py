"""`paperpred data ...`: inspect, convert, render-pages."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from paperpred.data.bundled import sample_path
from paperpred.data.loader import ICLRDataLoader
from paperpred.data.pages import render_pdf_dir
from paperpred.data.summary import DataSummary
from paperpred.data.writers import write_submissions


def add_parser(commands) -> None:
    data = commands.add_parser("data", help="inspect, convert and prepare ICLR data")
    sub = data.add_subparsers(dest="data_command", metavar="ACTION", required=True)

    inspect = sub.add_parser("inspect", help="counts per year x decision, fields, bad rows")
    inspect.add_argument("file", nargs="?", help="CSV, JSONL(.gz), parquet or dataset folder "
                         "(default: the bundled ICLR 2017 sample)")
    _loader_flags(inspect)
    inspect.add_argument("--json", action="store_true", help="print the summary as JSON")
    inspect.set_defaults(run=run_inspect)

    convert = sub.add_parser("convert", help="convert between the spec's CSV, JSONL and parquet")
    convert.add_argument("input")
    convert.add_argument("output", help="format from the name: .csv, .jsonl, .parquet (+.gz)")
    _loader_flags(convert)
    convert.set_defaults(run=run_convert)

    render = sub.add_parser("render-pages", help="PDFs to page images: OUT_DIR/<id>/page_NNN.png")
    render.add_argument("pdf_dir", help="folder of <submission_id>.pdf files")
    render.add_argument("out_dir", help="image_base_dir for ICLRDataLoader")
    render.add_argument("--dpi", type=int, default=100)
    render.add_argument("--max-pages", type=int, default=None)
    render.add_argument("--overwrite", action="store_true")
    render.set_defaults(run=run_render)


def _loader_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--strict", action="store_true",
                        help="stop at the first bad row (default: skip bad rows and count them)")
    parser.add_argument("--split", default="all", help="for datasets: 'all', a split or a year")
    parser.add_argument("--image-base-dir", default=None,
                        help="root of the page images (<id>/, <year>/<id>/..., or the files "
                        "the rows name); inspect then checks that every named image exists")
    parser.add_argument("--data-dir", default=None,
                        help="root under which the markdown files the rows name are found")


def _load(args, path: str | None, load_images: bool = False):
    loader = ICLRDataLoader(data_dir=args.data_dir, image_base_dir=args.image_base_dir,
                            strict=args.strict)
    return loader, loader.load(path or sample_path(), split=args.split,
                               load_images=load_images)


def run_inspect(args) -> int:
    loader, submissions = _load(args, args.file, load_images=bool(args.image_base_dir))
    summary = DataSummary.build(submissions, loader.report)
    print(json.dumps(summary.to_dict(), indent=2) if args.json else summary.render())
    return 0


def run_convert(args) -> int:
    loader, submissions = _load(args, args.input)
    n = write_submissions(submissions, args.output)
    print(loader.report.summary())
    print(f"wrote {n} submissions to {args.output}")
    return 0


def run_render(args) -> int:
    report = render_pdf_dir(Path(args.pdf_dir), Path(args.out_dir), dpi=args.dpi,
                            max_pages=args.max_pages, overwrite=args.overwrite, progress=True)
    print(report.summary())
    for name, reason in sorted(report.failed.items()):
        print(f"  failed: {name}: {reason}")
    return 0 if report.ok else 1
