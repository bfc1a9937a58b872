"""The trend's period names fit the chart: a marked period's mark goes on a line of its own.

On 5 December the quarter trend's last point was named "2026 K4 (t.o.m. 2026-12-05)", centred on the
point at the chart's right edge, and Chromium showed "2026 K4 (t.o.m. 20": the day it is counted to was
cut off (a "(del)" mark was cut the same way).
"""

from __future__ import annotations

import re

from sipflow.stats.exports import line_chart_svg

POINTS = [("2026 K1", 6), ("2026 K2", 5), ("2026 K3", 7), ("2026 K4 (t.o.m. 2026-12-05)", 2)]


def axis_labels(svg: str) -> list[tuple[str, str, str]]:
    """(x, text-anchor, text without tags) of each period's name under the axis."""
    return [
        (x, anchor, re.sub(r"<[^>]+>", "|", inner))
        for x, anchor, inner in re.findall(
            r'<text x="([0-9.]+)" y="[0-9.]+" text-anchor="(\w+)" font-size="11">'
            r"((?:(?!</text>).)*2026 K.*?)</text>",
            svg,
        )
    ]


def test_the_last_periods_name_ends_at_its_point_and_its_mark_is_a_line_below():
    svg = line_chart_svg("Antal SIP per kvartal", "", POINTS)
    labels = axis_labels(svg)
    assert [label[2] for label in labels] == [
        "2026 K1",
        "2026 K2",
        "2026 K3",
        "2026 K4|(t.o.m. 2026-12-05)|",
    ]
    x, anchor, _ = labels[-1]
    assert anchor == "end" and float(x) <= 640
    assert [anchor for _, anchor, _ in labels[:-1]] == ["middle"] * 3
    # The second line has room below the axis: the chart is taller by it.
    assert 'height="234"' in svg


def test_a_trend_without_marks_is_drawn_as_before():
    svg = line_chart_svg("Antal SIP per kvartal", "", POINTS[:3])
    assert 'height="220"' in svg and "<tspan" not in svg
