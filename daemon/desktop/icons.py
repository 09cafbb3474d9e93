"""Tray icons drawn with Pillow: colour AND shape AND letter say which voice speaks.

| tier      | colour            | shape           | mark |
| --------- | ----------------- | --------------- | ---- |
| XTTS      | green  #009E73    | circle          | X    |
| edge-tts  | amber  #E69F00    | rounded square  | E    |
| system    | red    #D55E00    | diamond         | S    |
| nothing   | red    #D55E00    | octagon         | !    |
| starting  | grey   #8C8C8C    | open ring       | -    |

Colours are from the Okabe-Ito palette (distinguishable with the common colour-vision deficiencies); the shape
and letter carry the same meaning for everyone else. A badge in the lower right corner shows activity: a ring
while thinking, a filled dot while speaking, a white microphone capsule on blue while listening. Icons are drawn
4x larger and downscaled, so 16, 24 and 32 px stay crisp; results are cached.
"""

from __future__ import annotations

import logging
import math
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw

from daemon.status import Activity, Tier

log = logging.getLogger(__name__)

RGB = tuple[int, int, int]

GREEN: RGB = (0, 158, 115)
AMBER: RGB = (230, 159, 0)
RED: RGB = (213, 94, 0)
GREY: RGB = (140, 140, 140)
WHITE: RGB = (255, 255, 255)
BADGE: RGB = (30, 41, 59)
LISTEN: RGB = (0, 114, 178)  # Okabe-Ito blue: the listening badge

TIER_COLOURS: dict[Tier, RGB] = {
    Tier.STARTING: GREY,
    Tier.XTTS: GREEN,
    Tier.EDGE: AMBER,
    Tier.SYSTEM: RED,
    Tier.NONE: RED,
}

TIER_LABELS: dict[Tier, str] = {
    Tier.STARTING: "starting",
    Tier.XTTS: "XTTS clone",
    Tier.EDGE: "edge-tts",
    Tier.SYSTEM: "system voice",
    Tier.NONE: "no voice",
}

SUPERSAMPLE = 4
Point = tuple[float, float]


def _px(points: list[Point], size: int) -> list[tuple[float, float]]:
    """Unit-square coordinates (0..1) to supersampled pixels."""
    big = size * SUPERSAMPLE
    return [(x * big, y * big) for x, y in points]


def _regular_polygon(sides: int, radius: float, rotation: float, centre: Point = (0.5, 0.5)) -> list[Point]:
    cx, cy = centre
    angles = [rotation + 2 * math.pi * i / sides for i in range(sides)]
    return [(cx + radius * math.cos(a), cy + radius * math.sin(a)) for a in angles]


def _draw_shape(draw: ImageDraw.ImageDraw, tier: Tier, size: int) -> None:
    big = size * SUPERSAMPLE
    colour = TIER_COLOURS[tier]
    margin = 0.04 * big
    box = (margin, margin, big - margin, big - margin)
    if tier is Tier.XTTS:
        draw.ellipse(box, fill=colour)
    elif tier is Tier.EDGE:
        draw.rounded_rectangle(box, radius=0.2 * big, fill=colour)
    elif tier is Tier.SYSTEM:
        draw.polygon(_px([(0.5, 0.0), (1.0, 0.5), (0.5, 1.0), (0.0, 0.5)], size), fill=colour)
    elif tier is Tier.NONE:
        draw.polygon(_px(_regular_polygon(8, 0.52, math.pi / 8), size), fill=colour)
    else:  # starting: an open ring, like a spinner
        width = max(SUPERSAMPLE * 2, round(0.16 * big))
        draw.arc(box, start=-60, end=240, fill=colour, width=width)


def _draw_mark(draw: ImageDraw.ImageDraw, tier: Tier, size: int) -> None:
    """The white letter, drawn as strokes (no font needed, same look everywhere)."""
    big = size * SUPERSAMPLE
    width = max(SUPERSAMPLE * 2, round(0.13 * big))
    strokes: list[list[Point]] = []
    dots: list[Point] = []
    if tier is Tier.XTTS:
        strokes = [[(0.33, 0.31), (0.67, 0.69)], [(0.67, 0.31), (0.33, 0.69)]]
    elif tier is Tier.EDGE:
        strokes = [[(0.67, 0.28), (0.35, 0.28), (0.35, 0.72), (0.67, 0.72)], [(0.35, 0.5), (0.62, 0.5)]]
    elif tier is Tier.SYSTEM:
        strokes = [[(0.63, 0.32), (0.38, 0.32), (0.38, 0.5), (0.62, 0.5), (0.62, 0.68), (0.37, 0.68)]]
    elif tier is Tier.NONE:
        strokes = [[(0.5, 0.22), (0.5, 0.58)]]
        dots = [(0.5, 0.76)]
    for line in strokes:
        draw.line(_px(line, size), fill=WHITE, width=width, joint="curve")
    for x, y in dots:
        r = width * 0.6
        draw.ellipse((x * big - r, y * big - r, x * big + r, y * big + r), fill=WHITE)


def _draw_badge(draw: ImageDraw.ImageDraw, activity: Activity, size: int) -> None:
    big = size * SUPERSAMPLE
    r = 0.22 * big
    cx = cy = big - r - 0.01 * big
    box = (cx - r, cy - r, cx + r, cy + r)
    draw.ellipse(box, fill=LISTEN if activity is Activity.LISTENING else WHITE)
    inner = r * 0.72
    ibox = (cx - inner, cy - inner, cx + inner, cy + inner)
    if activity is Activity.SPEAKING:
        draw.ellipse(ibox, fill=BADGE)
    elif activity is Activity.LISTENING:  # a microphone: a white upright capsule on blue
        w, h = inner * 0.45, inner * 0.85
        draw.rounded_rectangle((cx - w, cy - h, cx + w, cy + h), radius=w, fill=WHITE)
    else:  # thinking: a ring
        draw.ellipse(ibox, outline=BADGE, width=max(SUPERSAMPLE, round(inner * 0.45)))


@lru_cache(maxsize=64)
def render_icon(tier: Tier, activity: Activity = Activity.IDLE, size: int = 32) -> Image.Image:
    """The RGBA tray icon for a tier and activity at `size` x `size` pixels (cached: do not mutate it)."""
    if size < 8:
        raise ValueError(f"icon size {size} is too small (8 px at least)")
    big = size * SUPERSAMPLE
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    _draw_shape(draw, tier, size)
    _draw_mark(draw, tier, size)
    if activity is not Activity.IDLE:
        _draw_badge(draw, activity, size)
    return image.resize((size, size), Image.Resampling.BOX)  # area average: exact coverage, no ringing


def render_icon_frames(tier: Tier, activity: Activity, sizes: tuple[int, ...]) -> Image.Image:
    """The largest icon of `sizes`, carrying every size drawn at its own size in `info["voxtray_frames"]` (for a
    multi-size Windows .ico: the tray picks the frame for the screen's DPI instead of shrinking a big one)."""
    frames = {size: render_icon(tier, activity, size) for size in sizes}
    image = frames[max(sizes)].copy()
    image.info["voxtray_frames"] = frames
    return image


def write_app_icon(path: Path, size: int = 256) -> Path:
    """The application icon (XTTS green, idle) as a PNG, e.g. assets/voxtray.png for the autostart entry."""
    path.parent.mkdir(parents=True, exist_ok=True)
    render_icon(Tier.XTTS, Activity.IDLE, size).save(path)
    return path


def contact_sheet(sizes: tuple[int, ...] = (16, 24, 32, 64), background: RGB = (220, 218, 213)) -> Image.Image:
    """Every tier x activity at every size on one image (for docs and test artefacts)."""
    tiers = list(TIER_COLOURS)
    activities = list(Activity)
    pad = 6
    cell = max(sizes) + pad
    width = pad + cell * len(sizes) * len(activities)
    height = pad + cell * len(tiers)
    sheet = Image.new("RGB", (width, height), background)
    for row, tier in enumerate(tiers):
        for a, activity in enumerate(activities):
            for s, size in enumerate(sizes):
                x = pad + cell * (a * len(sizes) + s)
                y = pad + cell * row
                sheet.paste(render_icon(tier, activity, size), (x, y), render_icon(tier, activity, size))
    return sheet
