"""What a benchmark hands back, and how BENCHMARKS.md and the printed table are written."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Figure:
    """One line of the summary: a measured figure beside its baseline or floor and its goal."""

    name: str
    measured: str
    baseline: str
    ratio: str
    goal: str
    met: bool | None
    """``None`` when the figure has no goal (shown for information)."""
    runs: str = ""
    """What the median and spread are over: "3 runs", "17 cycles"."""

    @property
    def verdict(self) -> str:
        if self.met is None:
            return "—"
        return "meets" if self.met else "MISSES"


@dataclass
class Section:
    """One benchmark: how it was measured, its detailed table, its summary figures."""

    number: str
    title: str
    method: list[str]
    headers: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0


SUMMARY_HEADERS = [
    "#",
    "Figure",
    "Measured",
    "Baseline / floor",
    "Ratio",
    "Goal",
    "Verdict",
    "Over",
]


def _markdown_table(headers: list[str], rows: list[list[str]]) -> list[str]:
    def line(cells: list[str]) -> str:
        return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"

    return [line(headers), line(["---"] * len(headers)), *(line(row) for row in rows)]


def summary_rows(sections: list[Section]) -> list[list[str]]:
    return [
        [section.number, f.name, f.measured, f.baseline, f.ratio, f.goal, f.verdict, f.runs]
        for section in sections
        for f in section.figures
    ]


def markdown(sections: list[Section], *, header: list[str]) -> str:
    lines = ["# Benchmarks", "", *header, "", "## Summary", ""]
    lines += _markdown_table(SUMMARY_HEADERS, summary_rows(sections))
    for section in sections:
        lines += ["", f"## {section.number}. {section.title}", ""]
        for paragraph in section.method:
            lines += [paragraph, ""]
        if section.rows:
            lines += [*_markdown_table(section.headers, section.rows), ""]
        for note in section.notes:
            lines += [f"- {note}"]
        if section.notes:
            lines.append("")
        lines.append(f"_This section took {section.seconds:.0f} s._")
    return "\n".join(lines).rstrip() + "\n"


def plain_table(sections: list[Section]) -> str:
    """The summary as aligned text, for the terminal."""
    rows = [SUMMARY_HEADERS, *summary_rows(sections)]
    widths = [max(len(row[column]) for row in rows) for column in range(len(SUMMARY_HEADERS))]
    out = []
    for index, row in enumerate(rows):
        out.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
        if index == 0:
            out.append("  ".join("-" * width for width in widths))
    return "\n".join(out)
