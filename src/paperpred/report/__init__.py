"""Run reports: report.md and a self-contained report.html with plots, and comparisons."""

from paperpred.report.render import write_comparison, write_report

__all__ = ["write_comparison", "write_report"]
