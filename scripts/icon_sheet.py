"""Draw every tray icon (tier x activity) at 16, 24 and 32 px, each also scaled up x4 (nearest neighbour, so each
pixel shows), into docs/img/icons.png: on a light and a dark panel colour, with labels.

    python scripts/icon_sheet.py [OUT.png]
"""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from daemon.desktop.icons import TIER_LABELS, render_icon  # noqa: E402
from daemon.status import Activity, Tier  # noqa: E402

SIZES = (16, 24, 32)
ZOOM = 4
PANELS = ((232, 230, 226), (40, 40, 44))  # a light and a dark tray
TIERS = (Tier.XTTS, Tier.EDGE, Tier.SYSTEM, Tier.NONE, Tier.STARTING)


def sheet() -> Image.Image:
    pad, label_w, head_h = 8, 96, 18
    actual_w = sum(SIZES) + pad * len(SIZES)
    zoom_w = sum(s * ZOOM for s in SIZES) + pad * len(SIZES)
    cell_w = actual_w + zoom_w + pad
    row_h = max(SIZES) * ZOOM + pad
    activities = list(Activity)
    width = label_w + cell_w * len(activities) + pad
    height = head_h + (row_h * len(TIERS)) * len(PANELS) + pad
    img = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    for a, activity in enumerate(activities):
        draw.text((label_w + a * cell_w, 4), f"{activity.value}: 16/24/32 px, then x{ZOOM}", fill=(0, 0, 0))
    for p, panel in enumerate(PANELS):
        top = head_h + p * row_h * len(TIERS)
        draw.rectangle((0, top, width, top + row_h * len(TIERS) - 1), fill=panel)
        ink = (0, 0, 0) if sum(panel) > 384 else (255, 255, 255)
        for t, tier in enumerate(TIERS):
            y = top + t * row_h + pad // 2
            draw.text((pad, y + 4), TIER_LABELS[tier], fill=ink)
            for a, activity in enumerate(activities):
                x = label_w + a * cell_w
                for size in SIZES:
                    icon = render_icon(tier, activity, size)
                    img.paste(icon, (x, y), icon)
                    x += size + pad
                for size in SIZES:
                    icon = render_icon(tier, activity, size).resize((size * ZOOM, size * ZOOM),
                                                                    Image.Resampling.NEAREST)
                    img.paste(icon, (x, y), icon)
                    x += size * ZOOM + pad
    return img


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else ROOT / "docs" / "img" / "icons.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet().save(out, optimize=True)
    print(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
