"""Charts for the report, history and review pages (Altair, which Streamlit ships with)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import cast

import altair as alt
import pandas as pd

from interviewer.progress import ProgressPoint
from interviewer.report import Report
from interviewer.review.agreement import JUDGE, OFFLINE, PairRow

SCALE = alt.Scale(domain=[0, 5], nice=False)
AXIS = alt.Axis(values=[1, 2, 3, 4, 5], format="d")
COLORS = alt.Scale(
    domain=[1, 2, 3, 4, 5], range=["#d9480f", "#f08c00", "#fab005", "#74b816", "#2b8a3e"]
)


def criteria_chart(report: Report) -> alt.LayerChart:
    """Horizontal bars, one per criterion, coloured by score band, with the 3/5 bar marked."""
    rows = [
        {
            "criterion": c.name,
            "category": c.category.replace("_", " "),
            "score": c.score,
            "band": max(1, min(5, round(c.score))),
        }
        for c in report.criteria
    ]
    base = alt.Chart(pd.DataFrame(rows))
    bars = base.mark_bar(cornerRadiusEnd=4).encode(
        x=alt.X("score:Q", scale=SCALE, axis=AXIS, title="score (1 to 5)"),
        y=alt.Y(
            "criterion:N",
            sort=None,
            title=None,
            axis=alt.Axis(labelLimit=220, labelOverlap=False),
        ),
        color=alt.Color("band:O", scale=COLORS, legend=None),
        tooltip=["category:N", "criterion:N", alt.Tooltip("score:Q", format=".1f")],
    )
    labels = base.mark_text(align="left", dx=4).encode(
        x="score:Q", y=alt.Y("criterion:N", sort=None), text=alt.Text("score:Q", format=".1f")
    )
    bar_rule = (
        alt.Chart(pd.DataFrame([{"x": 3}]))
        .mark_rule(strokeDash=[4, 4], color="#868e96")
        .encode(x="x:Q")
    )
    # A fixed step per row: a fixed total height squeezed the rows until labels were dropped.
    chart: alt.LayerChart = (bars + labels + bar_rule).properties(height=alt.Step(34))
    return chart


def progress_chart(points: Sequence[ProgressPoint], by: str = "category") -> alt.Chart:
    """Scores over time, one line per category (or criterion)."""
    order: dict[str, int] = {}
    for p in points:  # chronological already: number the sessions in that order
        order.setdefault(p.session_id, len(order) + 1)
    rows = [
        {
            "when": f"#{order[p.session_id]} · {p.started_at[5:16].replace('T', ' ')}",
            "session": p.session_id[:8],
            "category": p.category.replace("_", " "),
            "criterion": p.criterion,
            "score": p.score,
        }
        for p in points
    ]
    field = "category" if by == "category" else "criterion"
    chart = (
        alt.Chart(pd.DataFrame(rows))
        .mark_line(point=True)
        .encode(
            x=alt.X("when:O", title="session", sort=None, axis=alt.Axis(labelAngle=0)),
            y=alt.Y("mean(score):Q", scale=SCALE, axis=AXIS, title="average score"),
            # below the chart, in columns: on the right, long criterion names were cut short
            color=alt.Color(
                f"{field}:N",
                title=field,
                legend=alt.Legend(orient="bottom", columns=3, labelLimit=320),
            ),
            tooltip=[f"{field}:N", "session:N", alt.Tooltip("mean(score):Q", format=".1f")],
        )
        # the height is the plot's: fitted as a whole (Streamlit's default), the legend below
        # took it, and nine criteria left 1..5 about 50 px tall
        .properties(height=280, autosize=alt.AutoSizeParams(type="fit-x", contains="padding"))
    )
    return cast(alt.Chart, chart)


def agreement_chart(pairs: Sequence[PairRow]) -> alt.LayerChart:
    """Quadratic weighted kappa per pair of raters, one row each, with its 95% interval as a
    bar; a pair whose kappa could not be computed (too few answers, no spread) is left out."""
    rows = [
        {
            "raters": f"{p.first} ~ {p.second}",
            "kind": "with a scorer" if p.second in (OFFLINE, JUDGE) else "two graders",
            "n": p.n,
            "qwk": round(p.qwk, 3),
            "low": round(p.qwk_ci[0], 3) if math.isfinite(p.qwk_ci[0]) else None,
            "high": round(p.qwk_ci[1], 3) if math.isfinite(p.qwk_ci[1]) else None,
        }
        for p in pairs
        if math.isfinite(p.qwk)
    ]
    frame = pd.DataFrame(rows, columns=["raters", "kind", "n", "qwk", "low", "high"])
    base = alt.Chart(frame)
    y = alt.Y("raters:N", sort=None, title=None, axis=alt.Axis(labelLimit=260, labelOverlap=False))
    color = alt.Color(
        "kind:N",
        title=None,
        scale=alt.Scale(domain=["two graders", "with a scorer"], range=["#1c7ed6", "#868e96"]),
        legend=alt.Legend(orient="bottom"),
    )
    x = alt.X(
        "qwk:Q",
        scale=alt.Scale(domain=[-1, 1], nice=False),
        axis=alt.Axis(values=[-1, -0.5, 0, 0.5, 1], format=".1f"),
        title="quadratic weighted kappa, overall score (bars: 95% interval)",
    )
    tooltip = [
        "raters:N",
        "n:Q",
        alt.Tooltip("qwk:Q", format=".2f", title="QWK"),
        alt.Tooltip("low:Q", format=".2f", title="95% low"),
        alt.Tooltip("high:Q", format=".2f", title="95% high"),
    ]
    intervals = base.mark_rule(strokeWidth=3, opacity=0.45).encode(
        x=alt.X("low:Q", scale=alt.Scale(domain=[-1, 1], nice=False)),
        x2="high:Q",
        y=y,
        color=color,
        tooltip=tooltip,
    )
    points = base.mark_point(filled=True, size=90).encode(x=x, y=y, color=color, tooltip=tooltip)
    zero = alt.Chart(pd.DataFrame([{"x": 0}])).mark_rule(strokeDash=[4, 4], color="#adb5bd")
    chart: alt.LayerChart = (zero.encode(x="x:Q") + intervals + points).properties(
        height=alt.Step(34)
    )
    return chart
