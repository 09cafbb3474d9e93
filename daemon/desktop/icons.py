"""Tray icons drawn with Pillow: colour AND outline AND glyph say which voice speaks.

| tier      | colour            | outline           | glyph (white)             |
| --------- | ----------------- | ----------------- | ------------------------- |
| XTTS      | green  #00A564    | circle            | sound wave (5 bars)       |
| edge-tts  | amber  #F5B400    | cloud             | none: the cloud is it     |
| system    | blue   #285AC8    | rounded square    | speaker with a sound arc  |
| nothing   | red    #C31C1C    | warning triangle  | !                         |
| starting  | grey   #B9B9B9    | ring              | three dots (loading)      |

The colours stay apart under deuteranopia and protanopia (checked with the Machado 2009 simulation in
tests/test_icons_render.py): green is lighter than red, amber is the lightest, blue stays blue, grey is light and
colourless. The outlines differ too, so the icon reads without colour. A white badge in the lower right corner
shows activity: a ring while thinking, a dot while speaking, a microphone while listening. Icons are drawn 4x
larger and downscaled, with straight edges on the pixel grid of the size asked for, so 16, 24 and 32 px stay
crisp; results are cached. `scripts/icon_sheet.py` draws them all into docs/img/icons.png.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw

from daemon.status import Activity, Tier

log = logging.getLogger(__name__)

RGB = tuple[int, int, int]

GREEN: RGB = (0, 165, 100)
AMBER: RGB = (245, 180, 0)
BLUE: RGB = (40, 90, 200)
RED: RGB = (195, 28, 28)
GREY: RGB = (185, 185, 185)
WHITE: RGB = (255, 255, 255)
BADGE: RGB = (30, 41, 59)  # the dark mark on the white activity badge

TIER_COLOURS: dict[Tier, RGB] = {
    Tier.STARTING: GREY,
    Tier.XTTS: GREEN,
    Tier.EDGE: AMBER,
    Tier.SYSTEM: BLUE,
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
Box = tuple[float, float, float, float]


class _Pen:
    """Draws on the supersampled canvas in unit-square coordinates (0..1 of the icon); `grid` snaps a coordinate to
    the nearest pixel edge of the final size, `px` is a whole number of final pixels."""

    def __init__(self, draw: ImageDraw.ImageDraw, size: int) -> None:
        self.draw, self.size, self.big = draw, size, size * SUPERSAMPLE

    def unit(self, v: float) -> float:
        return v * self.big

    def grid(self, v: float) -> int:
        return round(v * self.size) * SUPERSAMPLE

    def px(self, n: int) -> int:
        return n * SUPERSAMPLE

    def width(self, fraction: float, least: int = 1) -> int:
        """A stroke width of `fraction` of the icon, in whole final pixels (at least `least`)."""
        return max(least, round(fraction * self.size))

    def rect(self, x0: int, y0: int, w: int, h: int, fill: RGB) -> None:
        """A rectangle in final pixels (crisp at any size)."""
        s = SUPERSAMPLE
        self.draw.rectangle((x0 * s, y0 * s, (x0 + w) * s - 1, (y0 + h) * s - 1), fill=fill)

    def box(self, x0: float, y0: float, x1: float, y1: float) -> Box:
        return (self.unit(x0), self.unit(y0), self.unit(x1), self.unit(y1))


def _centred(total: int, length: int) -> int:
    return (total - length) // 2


def _xtts(pen: _Pen) -> None:
    """A green disc with a sound wave: five bars, tallest in the middle."""
    pen.draw.ellipse(pen.box(0.03, 0.03, 0.97, 0.97), fill=GREEN)
    size = pen.size
    bar = max(1, round(size * 0.07))
    gap = max(1, round((0.56 * size - 5 * bar) / 4))
    left = _centred(size, 5 * bar + 4 * gap)
    for i, fraction in enumerate((0.2, 0.42, 0.62, 0.42, 0.2)):
        height = max(2, 2 * round(fraction * size / 2))
        pen.rect(left + i * (bar + gap), _centred(size, height), bar, height, WHITE)


def _edge(pen: _Pen) -> None:
    """An amber cloud (edge-tts is a voice from the network)."""
    d, u = pen.draw, pen.unit
    bottom = pen.grid(0.88) - 1
    d.rounded_rectangle((u(0.02), u(0.5), u(0.98), bottom), radius=u(0.18), fill=AMBER)
    for cx, cy, r in ((0.27, 0.6, 0.22), (0.55, 0.4, 0.3), (0.79, 0.62, 0.19)):
        d.ellipse(pen.box(cx - r, cy - r, cx + r, min(cy + r, 0.88)), fill=AMBER)


def _system(pen: _Pen) -> None:
    """A blue rounded square with a white speaker and one sound arc."""
    d, u, g = pen.draw, pen.unit, pen.grid
    d.rounded_rectangle((g(0.03), g(0.03), g(0.97) - 1, g(0.97) - 1), radius=u(0.2), fill=BLUE)
    top, bottom = g(0.38), g(0.62)
    body, mouth = g(0.18), g(0.35)
    cone = g(0.58)
    d.rectangle((body, top, mouth - 1, bottom - 1), fill=WHITE)
    d.polygon([(mouth, top), (cone, g(0.17)), (cone, g(0.83)), (mouth, bottom)], fill=WHITE)
    r = 0.2
    width = pen.px(pen.width(0.09))
    cx, cy = u(0.58), u(0.5)
    d.arc((cx - u(r), cy - u(r), cx + u(r), cy + u(r)), start=-55, end=55, fill=WHITE, width=width)


def _none(pen: _Pen) -> None:
    """A red warning triangle with a white '!'."""
    d, u, g = pen.draw, pen.unit, pen.grid
    base = g(0.94) - 1
    d.polygon([(u(0.5), u(0.02)), (u(1.0), base), (u(0.0), base)], fill=RED)
    size = pen.size
    w = pen.width(0.13, least=2)
    x = _centred(size, w)
    top = round(0.34 * size)
    dot = min(round(0.9 * size), base // SUPERSAMPLE) - w - 1  # one pixel of red under the dot
    stem = dot - max(1, round(0.07 * size)) - top
    pen.rect(x, top, w, stem, WHITE)
    pen.rect(x, dot, w, w, WHITE)


def _starting(pen: _Pen) -> None:
    """A grey ring with three dots: loading."""
    width = pen.px(pen.width(0.12, least=2))
    pen.draw.ellipse(pen.box(0.03, 0.03, 0.97, 0.97), outline=GREY, width=width)
    size = pen.size
    dot = pen.width(0.12, least=2)
    gap = max(1, round(dot / 2))
    left = _centred(size, 3 * dot + 2 * gap)
    for i in range(3):
        pen.rect(left + i * (dot + gap), _centred(size, dot), dot, dot, GREY)


DRAW_TIER: dict[Tier, Callable[[_Pen], None]] = {
    Tier.XTTS: _xtts, Tier.EDGE: _edge, Tier.SYSTEM: _system, Tier.NONE: _none, Tier.STARTING: _starting,
}


# The badges' marks, pixel by pixel (at 16 px; scaled by whole pixels at larger sizes).
BADGE_MARKS: dict[Activity, tuple[str, ...]] = {
    Activity.THINKING: (
        "........",
        "..####..",
        ".#....#.",
        ".#....#.",
        ".#....#.",
        ".#....#.",
        "..####..",
        "........",
    ),
    Activity.SPEAKING: (
        "........",
        "..####..",
        ".######.",
        ".######.",
        ".######.",
        ".######.",
        "..####..",
        "........",
    ),
    Activity.LISTENING: (  # capsule, holder, stand and base
        "..........",
        "....##....",
        "....##....",
        "..#.##.#..",
        "..#.##.#..",
        "..#....#..",
        "...####...",
        "....##....",
        "...####...",
        "..........",
    ),
}


def _draw_badge(pen: _Pen, activity: Activity) -> None:
    """A white disc in the lower right corner with a dark mark: ring = thinking, dot = speaking, microphone =
    listening (its disc is larger, so the holder, stand and base show at 16 px). Below 24 px, and the microphone
    always, the marks are drawn pixel by pixel (a pattern pixel is a k x k block at larger sizes): curves that small
    blur into a blob (the old ring at 16 px, the old capsule read as '0')."""
    size = pen.size
    diameter = round((0.625 if activity is Activity.LISTENING else 0.5) * size)  # 10 and 8 px at 16 px
    origin = size - diameter
    pen.draw.ellipse((pen.px(origin), pen.px(origin), pen.big - 1, pen.big - 1), fill=WHITE)
    if size >= 24 and activity is not Activity.LISTENING:  # a ring or a dot is smooth enough from 24 px
        inset = pen.px(diameter) * 0.17
        box = (pen.px(origin) + inset, pen.px(origin) + inset, pen.big - 1 - inset, pen.big - 1 - inset)
        if activity is Activity.SPEAKING:
            pen.draw.ellipse(box, fill=BADGE)
        else:
            pen.draw.ellipse(box, outline=BADGE, width=pen.px(max(2, round(diameter * 0.16))))
        return
    pattern = BADGE_MARKS[activity]
    k = max(1, diameter // len(pattern))
    at = origin + (diameter - k * len(pattern)) // 2
    for y, row in enumerate(pattern):
        for x, cell in enumerate(row):
            if cell == "#":
                pen.rect(at + k * x, at + k * y, k, k, BADGE)


@lru_cache(maxsize=64)
def render_icon(tier: Tier, activity: Activity = Activity.IDLE, size: int = 32) -> Image.Image:
    """The RGBA tray icon for a tier and activity at `size` x `size` pixels (cached: do not mutate it)."""
    if size < 8:
        raise ValueError(f"icon size {size} is too small (8 px at least)")
    big = size * SUPERSAMPLE
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    pen = _Pen(ImageDraw.Draw(image), size)
    DRAW_TIER[tier](pen)
    if activity is not Activity.IDLE:
        _draw_badge(pen, activity)
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
