"""Tray icons: colour, outline and glyph per tier, activity badge, sizes 16/24/32 (real Pillow rendering), and that
they stay apart for colour-blind eyes (Machado 2009 simulation of deuteranopia and protanopia, in numpy here)."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import numpy as np
import pytest

from daemon.desktop.icons import BADGE, TIER_COLOURS, WHITE, contact_sheet, render_icon, write_app_icon
from daemon.status import Activity, Tier

SIZES = (16, 24, 32)


def near(img: np.ndarray, colour: tuple[int, int, int], tol: int = 40) -> np.ndarray:
    rgb = img[..., :3].astype(int)
    return (((rgb - np.array(colour)) ** 2).sum(axis=-1) < tol**2) & (img[..., 3] > 200)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("tier", list(Tier))
def test_each_tier_is_drawn_in_its_colour_at_each_size(tier: Tier, size: int) -> None:
    img = np.asarray(render_icon(tier, Activity.IDLE, size))
    assert img.shape == (size, size, 4)
    opaque = img[..., 3] > 200
    share = near(img, TIER_COLOURS[tier]).sum() / max(1, opaque.sum())
    assert share > 0.5, f"{tier} at {size}px is only {share:.0%} its colour"
    for colour in set(TIER_COLOURS.values()):
        if colour != TIER_COLOURS[tier]:
            assert near(img, colour, 25).sum() < near(img, TIER_COLOURS[tier], 25).sum() / 4


@pytest.mark.parametrize("size", SIZES)
def test_tiers_differ_in_shape_not_only_colour(size: int) -> None:
    """Colour-blind users tell tiers apart by outline and glyph: compare the alpha masks and the white marks."""
    masks = {t: np.asarray(render_icon(t, Activity.IDLE, size))[..., 3] > 128 for t in Tier}
    marks = {t: near(np.asarray(render_icon(t, Activity.IDLE, size)), WHITE, 60) for t in Tier}
    for a, b in itertools.combinations(Tier, 2):
        shape_diff = (masks[a] ^ masks[b]).sum() + (marks[a] ^ marks[b]).sum()
        assert shape_diff >= size // 2, f"{a} and {b} look alike at {size}px ({shape_diff} pixels differ)"


@pytest.mark.parametrize("size", SIZES)
def test_icons_are_crisp_mostly_solid_pixels_with_transparent_corners(size: int) -> None:
    for tier in (Tier.XTTS, Tier.EDGE, Tier.SYSTEM, Tier.NONE):
        alpha = np.asarray(render_icon(tier, Activity.IDLE, size))[..., 3]
        partial = ((alpha > 0) & (alpha < 255)).sum()
        solid = (alpha == 255).sum()
        assert solid > 2.5 * partial, f"{tier} at {size}px is blurry: {partial} soft vs {solid} solid pixels"
        assert alpha[0, 0] == 0 and alpha[-1, -1] < 255


@pytest.mark.parametrize("size", SIZES)
def test_busy_badge_marks_thinking_and_speaking_differently(size: int) -> None:
    idle = np.asarray(render_icon(Tier.XTTS, Activity.IDLE, size)).astype(int)
    thinking = np.asarray(render_icon(Tier.XTTS, Activity.THINKING, size)).astype(int)
    speaking = np.asarray(render_icon(Tier.XTTS, Activity.SPEAKING, size)).astype(int)
    corner = (slice(size // 2, None), slice(size // 2, None))
    top_left = (slice(0, size // 3), slice(0, size // 3))
    assert np.abs(thinking[corner] - idle[corner]).sum() > 0
    assert np.abs(speaking[corner] - thinking[corner]).sum() > 0
    assert np.array_equal(thinking[top_left], idle[top_left]), "the badge stays in its corner"


def test_icons_are_cached_and_too_small_sizes_are_refused() -> None:
    assert render_icon(Tier.EDGE, Activity.IDLE, 24) is render_icon(Tier.EDGE, Activity.IDLE, 24)
    with pytest.raises(ValueError, match="too small"):
        render_icon(Tier.EDGE, Activity.IDLE, 4)


def test_contact_sheet_and_app_icon_are_written(tmp_path: Path, x11_artifacts: Path) -> None:
    sheet = contact_sheet()
    (x11_artifacts / "tray").mkdir(exist_ok=True)
    tmp = x11_artifacts / "tray" / f".icons.{os.getpid()}.png"
    sheet.save(tmp)
    os.replace(tmp, x11_artifacts / "tray" / "icons.png")
    assert sheet.width > 64 * 3 * 4 and sheet.height > 64 * 5
    icon = write_app_icon(tmp_path / "voxtray.png")
    assert icon.stat().st_size > 0


# Colour-vision deficiency: Machado, Oliveira & Fernandes 2009, severity 1.0, applied to linear RGB.
MACHADO_2009 = {
    "normal": np.eye(3),
    "deuteranopia": np.array([[0.367322, 0.860646, -0.227968],
                              [0.280085, 0.672501, 0.047413],
                              [-0.011820, 0.042940, 0.968881]]),
    "protanopia": np.array([[0.152286, 1.052583, -0.204868],
                            [0.114503, 0.786281, 0.099216],
                            [-0.003882, -0.048116, 1.051998]]),
}
SRGB_TO_XYZ = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
D65 = np.array([0.95047, 1.0, 1.08883])
PANEL = (128, 128, 128)  # a mid-grey tray panel under the icon's soft edges


def linear(rgb: np.ndarray) -> np.ndarray:
    c = np.asarray(rgb, dtype=float) / 255
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def seen_as_lab(lin: np.ndarray, vision: str) -> np.ndarray:
    """Linear RGB (any shape ending in 3) as `vision` sees it, in CIELAB (so distances are ΔE 1976)."""
    xyz = np.clip(lin @ MACHADO_2009[vision].T, 0, 1) @ SRGB_TO_XYZ.T / D65
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], axis=-1)


def body_colour(tier: Tier, size: int, vision: str) -> np.ndarray:
    """The colour of the icon's solid body (opaque pixels that are not its white glyph), as `vision` sees it."""
    img = np.asarray(render_icon(tier, Activity.IDLE, size)).astype(float)
    body = (img[..., 3] == 255) & (np.abs(img[..., :3] - 255).sum(axis=-1) > 120)
    assert body.sum() > size, f"{tier} at {size}px has almost no coloured body"
    return seen_as_lab(linear(img[..., :3][body]).mean(axis=0), vision)


def seen_on_panel(tier: Tier, size: int, vision: str, activity: Activity = Activity.IDLE) -> np.ndarray:
    """The whole icon on a grey panel, every pixel as `vision` sees it (CIELAB, size x size x 3)."""
    img = np.asarray(render_icon(tier, activity, size)).astype(float)
    alpha = img[..., 3:] / 255
    return seen_as_lab(linear(img[..., :3]) * alpha + linear(np.array(PANEL)) * (1 - alpha), vision)


@pytest.mark.parametrize("vision", list(MACHADO_2009))
@pytest.mark.parametrize("size", SIZES)
def test_tier_colours_stay_apart_for_normal_and_colour_blind_vision(size: int, vision: str) -> None:
    """Every pair of tiers differs in body colour by ΔE >= 20 also under deuteranopia and protanopia (the old set:
    system and nothing-works shared a red, ΔE ~3; amber and red turned olive, ΔE 18; green and grey ΔE 10)."""
    colours = {t: body_colour(t, size, vision) for t in Tier}
    for a, b in itertools.combinations(Tier, 2):
        distance = float(np.linalg.norm(colours[a] - colours[b]))
        assert distance >= 20, f"{a.value} and {b.value} at {size}px: body colours ΔE {distance:.1f} for {vision}"


@pytest.mark.parametrize("vision", list(MACHADO_2009))
@pytest.mark.parametrize("size", SIZES)
def test_whole_icons_stay_apart_for_normal_and_colour_blind_vision(size: int, vision: str) -> None:
    """Colour and shape together, as seen on a grey panel: the mean per-pixel ΔE between any two tiers' icons is
    >= 15 (the old set's green X and grey ring were 10 apart for deuteranopia)."""
    seen = {t: seen_on_panel(t, size, vision) for t in Tier}
    for a, b in itertools.combinations(Tier, 2):
        distance = float(np.linalg.norm(seen[a] - seen[b], axis=-1).mean())
        assert distance >= 15, f"{a.value} and {b.value} at {size}px: mean ΔE {distance:.1f} for {vision}"


def glyph(tier: Tier, size: int) -> np.ndarray:
    return near(np.asarray(render_icon(tier, Activity.IDLE, size)), WHITE, 60)


@pytest.mark.parametrize("size", SIZES)
def test_system_voice_and_nothing_works_differ_in_shape_not_only_hue(size: int) -> None:
    """The system voice (it speaks) and 'nothing can speak' differ in outline and in glyph, not just colour."""
    system, none = (np.asarray(render_icon(t, Activity.IDLE, size))[..., 3] > 128 for t in (Tier.SYSTEM, Tier.NONE))
    outline = (system ^ none).sum() / (system | none).sum()
    assert outline > 0.3, f"their outlines share {1 - outline:.0%} of their pixels at {size}px"
    marks = glyph(Tier.SYSTEM, size) ^ glyph(Tier.NONE, size)
    union = glyph(Tier.SYSTEM, size) | glyph(Tier.NONE, size)
    assert marks.sum() > 0.6 * union.sum(), f"their glyphs overlap too much at {size}px"
    grey = {t: seen_on_panel(t, size, "normal")[..., 0] for t in (Tier.SYSTEM, Tier.NONE)}
    assert np.abs(grey[Tier.SYSTEM] - grey[Tier.NONE]).mean() > 10, "in grey (lightness only) they still differ"


def badge_mark(tier: Tier, activity: Activity, size: int) -> np.ndarray:
    """The dark mark on the activity badge (lower right quarter and a bit)."""
    img = np.asarray(render_icon(tier, activity, size))
    corner = slice(size * 3 // 8, None)
    return near(img, BADGE, 70)[corner, corner]


def has_hole(mark: np.ndarray) -> bool:
    """Whether the mark encloses background pixels (as a ring or a '0' does): flood the background from outside."""
    outside = np.zeros((mark.shape[0] + 2, mark.shape[1] + 2), dtype=bool)
    free = np.pad(~mark, 1, constant_values=True)
    outside[0, 0] = True
    while True:
        grown = outside.copy()
        grown[1:] |= outside[:-1]
        grown[:-1] |= outside[1:]
        grown[:, 1:] |= outside[:, :-1]
        grown[:, :-1] |= outside[:, 1:]
        grown &= free
        if np.array_equal(grown, outside):
            return bool((free & ~outside).any())
        outside = grown


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("tier", list(Tier))
def test_listening_badge_is_a_microphone_not_a_ring_or_a_dot(tier: Tier, size: int) -> None:
    """The listening badge differs from thinking and speaking, and its mark is a microphone: taller than wide,
    enclosing nothing (a ring or an upright capsule outline reads as '0'), with a base wider than its stand."""
    listening = badge_mark(tier, Activity.LISTENING, size)
    for other in (Activity.THINKING, Activity.SPEAKING):
        differ = (listening ^ badge_mark(tier, other, size)).sum()
        assert differ >= size // 2, f"listening and {other.value} badges differ in {differ} pixels at {size}px"
    rows, cols = np.nonzero(listening)
    assert rows.size >= size // 2, f"the microphone has {rows.size} dark pixels at {size}px"
    height, width = rows.max() - rows.min() + 1, cols.max() - cols.min() + 1
    assert height > width, f"the microphone is {width} wide and {height} tall at {size}px"
    assert not has_hole(listening), f"the listening mark encloses a hole at {size}px: it reads as '0'"
    assert has_hole(badge_mark(tier, Activity.THINKING, size)), "(the check sees the thinking ring's hole)"
    widths = listening.sum(axis=1)
    base, above = widths[rows.max()], rows.max()
    while widths[above] == base:
        above -= 1
    stand = widths[above]
    assert base > stand, f"no base under the stand at {size}px (widths {widths.tolist()})"
