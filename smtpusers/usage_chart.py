"""The geometry of the hourly usage chart (an SVG drawn by templates/smtpusers/_usage_chart.html).

Computed here because templates cannot do arithmetic; the numbers are SVG user units.
"""

from dataclasses import dataclass
from datetime import datetime

WIDTH = 720
HEIGHT = 220
_LEFT, _RIGHT, _TOP, _BOTTOM = 44, 8, 12, 28
PLOT_WIDTH = WIDTH - _LEFT - _RIGHT
PLOT_HEIGHT = HEIGHT - _TOP - _BOTTOM
BASELINE = _TOP + PLOT_HEIGHT
LABEL_EVERY_HOURS = 6


@dataclass(frozen=True)
class UsageBar:
    hour: datetime
    count: int
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class AxisMark:
    label: str
    position: float  # y for the value axis, x for the time axis


@dataclass(frozen=True)
class UsageChart:
    element_id: str
    hours: int
    bars: list[UsageBar]
    total: int
    busiest: UsageBar | None
    value_marks: list[AxisMark]
    time_marks: list[AxisMark]
    hourly_limit: int
    limit_y: float | None  # None when the limit is far above every bar
    width: int = WIDTH
    height: int = HEIGHT
    plot_left: int = _LEFT
    plot_right: int = WIDTH - _RIGHT
    baseline: int = BASELINE


def nice_ceiling(value: int) -> int:
    """The smallest of 1, 2, 5, 10, 20, 50, … that is at least `value`."""
    magnitude = 1
    while True:
        for step in (1, 2, 5):
            if step * magnitude >= value:
                return step * magnitude
        magnitude *= 10


def build_usage_chart(
    element_id: str, counts: list[tuple[datetime, int]], *, hourly_limit: int
) -> UsageChart:
    """A bar per hour of `counts` (oldest first), scaled to the busiest hour."""
    top = nice_ceiling(max([count for _, count in counts] + [1]))
    slot = PLOT_WIDTH / len(counts)

    def y_of(value: int) -> float:
        return round(BASELINE - PLOT_HEIGHT * value / top, 2)

    bars = [
        UsageBar(
            hour=hour,
            count=count,
            x=round(_LEFT + slot * index + slot * 0.15, 2),
            y=y_of(count),
            width=round(slot * 0.7, 2),
            height=round(BASELINE - y_of(count), 2),
        )
        for index, (hour, count) in enumerate(counts)
    ]
    busiest = max(bars, key=lambda bar: bar.count)
    values = sorted({0, top // 2, top})
    return UsageChart(
        element_id=element_id,
        hours=len(counts),
        bars=bars,
        total=sum(bar.count for bar in bars),
        busiest=busiest if busiest.count else None,
        value_marks=[AxisMark(str(value), y_of(value)) for value in values],
        time_marks=[
            AxisMark(f"{bar.hour:%H}:00", round(bar.x + bar.width / 2, 2))
            for bar in bars
            if bar.hour.hour % LABEL_EVERY_HOURS == 0
        ],
        hourly_limit=hourly_limit,
        limit_y=y_of(hourly_limit) if hourly_limit <= top else None,
    )
