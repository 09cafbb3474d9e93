"""Tray icons: colour, shape and letter per tier, activity badge, sizes 16/24/32 (real Pillow rendering)."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import numpy as np
import pytest

from daemon.desktop.icons import TIER_COLOURS, WHITE, contact_sheet, render_icon, write_app_icon
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
    """Colour-blind users tell tiers apart by outline and letter: compare the alpha masks and the white marks."""
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
