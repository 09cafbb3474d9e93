"""VoxTray's desktop notifications on a real notification server (dunst on a private session bus, #24).

Real: the D-Bus Notify calls of daemon/desktop/notify_dbus.py, dunst showing and keeping them. What the user saw
before: pystray sent every notification with one id and no application name, so the first-run welcome was
replaced 3 ms later by the next notice and notification centres could not group VoxTray.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

from tests.conftest import ROOT
from tests.fixtures.x11 import X11Session, wait_for

CHILD = textwrap.dedent("""
    from daemon.desktop.notify_dbus import DbusNotifier
    from daemon.status import Tier
    n = DbusNotifier()
    n.send("message", "VoxTray", "Welcome: the cloned voice needs the XTTS v2 model.", Tier.STARTING)
    n.send("tier", "Nothing can speak", "espeak-ng missing.", Tier.NONE)
    n.send("download", "Downloading", "12 %", Tier.SYSTEM)
    n.send("download", "Downloading", "13 %", Tier.SYSTEM)
    n.close()
""")


def test_each_kind_keeps_its_own_notification_under_the_app_name(x11: X11Session) -> None:
    x11.run("dunstctl", "close-all")
    before = len(x11.notifications())
    done = subprocess.run([sys.executable, "-c", CHILD], cwd=ROOT, env=x11.env, capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0 and "not shown" not in done.stderr, done.stderr
    wait_for(lambda: x11.displayed_count() == 3, 10, "three notifications on screen at once (one per kind)")
    mine = x11.notifications()[: len(x11.notifications()) - before]
    assert sorted(n["body"] for n in mine) == sorted(["Welcome: the cloned voice needs the XTTS v2 model.",
                                                      "espeak-ng missing.", "13 %"]), mine
    assert {n["appname"] for n in mine} == {"VoxTray"}


ACTION_CHILD = textwrap.dedent("""
    import sys
    from gi.repository import GLib
    from daemon.desktop.notify_dbus import DbusNotifier
    from daemon.status import Tier
    loop = GLib.MainLoop()
    def clicked(action):
        print("action", action, flush=True)
        loop.quit()
    n = DbusNotifier(on_action=clicked)
    print("capabilities", sorted(n.capabilities()), flush=True)
    n.send("setup", "Welcome to VoxTray", "Get the cloned voice.", Tier.STARTING, persistent=True,
           actions=(("get-model", "Get the cloned voice (XTTS v2)…"),))
    print("sent", flush=True)
    GLib.timeout_add_seconds(20, loop.quit)
    loop.run()
    n.close()
""")


def test_the_welcome_stays_and_its_button_runs_the_command(x11: X11Session) -> None:
    """The welcome is persistent (no expiry) and its "Get the cloned voice…" button reaches VoxTray: the click is
    dunst's context menu (`dunstctl context`, answered by a dmenu stand-in that picks the first action)."""
    x11.run("dunstctl", "close-all")
    child = subprocess.Popen([sys.executable, "-c", ACTION_CHILD], cwd=ROOT, env=x11.env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        lines = [child.stdout.readline(), child.stdout.readline()]
        assert "'actions'" in lines[0], lines
        assert lines[1].strip() == "sent", lines
        wait_for(lambda: x11.displayed_count() == 1, 10, "the welcome on screen")
        time.sleep(6)  # longer than dunst's default timeout for normal notifications (5 s at normal urgency)
        assert x11.displayed_count() == 1, "the welcome stays until the user closes it"
        x11.run("dunstctl", "context")
        out, err = child.communicate(timeout=20)
        assert "action get-model" in out, (out, err)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
