"""Bar charts of an endpoint's recent jobs (the Metrics tab), drawn as SVG by the template: plain Python."""

from dataclasses import dataclass

WIDTH, HEIGHT = 480, 120


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str  # what the bar is (a job), for its tooltip and the data table
    value: float
    text: str  # the value as read


def bars(points: list[tuple[str, float]], unit: str, width: int = WIDTH, height: int = HEIGHT) -> dict | None:
    """One bar per (label, value), oldest first, scaled so that the tallest reaches the top; None with no value."""
    values = [value for _, value in points]
    if not values or not any(values):
        return None
    top = max(values)
    step = width / len(points)
    gap = min(2.0, step * 0.2)
    drawn = []
    for i, (label, value) in enumerate(points):
        tall = round(value / top * (height - 2), 1)
        drawn.append(
            Bar(
                round(i * step + gap / 2, 1),
                round(height - tall, 1),
                round(step - gap, 1),
                tall,
                label,
                value,
                reading(value, unit),
            )
        )
    return {"bars": drawn, "top": reading(top, unit), "width": width, "height": height}


def reading(value: float, unit: str) -> str:
    """'12.5 s', '1,200 rows', '5.0 %': whole numbers grouped in thousands from 100 on."""
    number = f"{value:,.0f}" if value >= 100 or float(value).is_integer() else f"{value:.1f}"
    return f"{number} {unit}"
