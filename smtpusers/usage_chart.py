"""The geometry of the usage charts (SVGs drawn by templates/smtpusers/_usage_chart.html):
messages per clock hour, or per UTC day.

Computed here because templates cannot do arithmetic; the numbers are SVG user units.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

WIDTH = 720
HEIGHT = 220
_LEFT, _RIGHT, _TOP, _BOTTOM = 44, 8, 12, 28
PLOT_WIDTH = WIDTH - _LEFT - _RIGHT
PLOT_HEIGHT = HEIGHT - _TOP - _BOTTOM
BASELINE = _TOP + PLOT_HEIGHT


@dataclass(frozen=True)
class ChartPeriod:
    """What one bar stands for, and how bars and the time axis are labelled."""

    unit: str  # "hour" or "day"
    bar_label: str  # strftime of a bar's start, in its tooltip
    axis_label: str  # strftime of a time-axis mark
    marked: Callable[[int, int, datetime], bool]  # (index, bar count, start) -> has a mark
    limit_label: str


HOURS = ChartPeriod(
    unit="hour",
    bar_label="%Y-%m-%d %H:%M UTC",
    axis_label="%H:00",
    marked=lambda index, count, start: start.hour % 6 == 0,
    limit_label="hourly limit",
)
DAYS = ChartPeriod(
    unit="day",
    bar_label="%Y-%m-%d",
    axis_label="%b %d",
    # Every seventh day, counted back from today (so today is labelled).
    marked=lambda index, count, start: (count - 1 - index) % 7 == 0,
    limit_label="daily limit",
)


@dataclass(frozen=True)
class UsageBar:
    start: datetime
    label: str
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
    unit: str
    bars: list[UsageBar]
    total: int
    busiest: UsageBar | None
    value_marks: list[AxisMark]
    time_marks: list[AxisMark]
    limit: int | None
    limit_label: str
    limit_y: float | None  # None without a limit, or when it is far above every bar
    width: int = WIDTH
    height: int = HEIGHT
    plot_left: int = _LEFT
    plot_right: int = WIDTH - _RIGHT
    baseline: int = BASELINE

    @property
    def span(self) -> int:
        """How many hours (days) the chart covers."""
        return len(self.bars)


def nice_ceiling(value: int) -> int:
    """The smallest of 1, 2, 5, 10, 20, 50, … that is at least `value`."""
    magnitude = 1
    while True:
        for step in (1, 2, 5):
            if step * magnitude >= value:
                return step * magnitude
        magnitude *= 10


def build_usage_chart(
    element_id: str,
    counts: list[tuple[datetime, int]],
    *,
    limit: int | None,
    period: ChartPeriod = HOURS,
) -> UsageChart:
    """A bar per hour (day) of `counts` (oldest first), scaled to the busiest one."""
    top = nice_ceiling(max([count for _, count in counts] + [1]))
    slot = PLOT_WIDTH / len(counts)

    def y_of(value: int) -> float:
        return round(BASELINE - PLOT_HEIGHT * value / top, 2)

    bars = [
        UsageBar(
            start=start,
            label=start.strftime(period.bar_label),
            count=count,
            x=round(_LEFT + slot * index + slot * 0.15, 2),
            y=y_of(count),
            width=round(slot * 0.7, 2),
            height=round(BASELINE - y_of(count), 2),
        )
        for index, (start, count) in enumerate(counts)
    ]
    busiest = max(bars, key=lambda bar: bar.count)
    values = sorted({0, top // 2, top})
    return UsageChart(
        element_id=element_id,
        unit=period.unit,
        bars=bars,
        total=sum(bar.count for bar in bars),
        busiest=busiest if busiest.count else None,
        value_marks=[AxisMark(str(value), y_of(value)) for value in values],
        time_marks=[
            AxisMark(bar.start.strftime(period.axis_label), round(bar.x + bar.width / 2, 2))
            for index, bar in enumerate(bars)
            if period.marked(index, len(bars), bar.start)
        ],
        limit=limit,
        limit_label=period.limit_label,
        limit_y=y_of(limit) if limit is not None and limit <= top else None,
    )
