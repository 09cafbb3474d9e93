"""Probe (FINDINGS.md e): does `cmd /c "<command line>"` start a pythonw.exe in a folder with spaces with a
launcher script in a folder with non-ASCII letters and spaces, passing the argument through?

Run under the lane: bash scripts/wine/run.sh winpy scripts/wine/probes/cmd_quoting.py
"""

import ast
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

base = Path(tempfile.mkdtemp(prefix="cmdq-"))
home = Path(os.environ["SYSTEMDRIVE"] + "\\") / "path with spaces" / "Py thon"
if not home.exists():
    shutil.copytree(Path(sys.executable).parent, home)
    # The ._pth names ..\site (the lane's wheels). os.symlink is a silent no-op under Wine 8, so point the copy's
    # ._pth at the wheel folder by absolute path instead.
    pth = home / "python311._pth"
    site = str(Path(sys.executable).parent.parent / "site")
    pth.write_text(pth.read_text().replace("..\\site", site))
scripts = Path(os.environ.get("VOXTRAY_PROBE_DIR", str(base))) / "José dir" / "ünï côde"
scripts.mkdir(parents=True, exist_ok=True)
out = scripts / "out.txt"
launcher = scripts / "launcher.pyw"
launcher.write_text(
    "import sys, os\n"
    "open(os.path.join(os.path.dirname(os.path.abspath(__file__)), 'out.txt'), 'w', encoding='utf-8')"
    ".write(repr([sys.executable, sys.argv, os.getcwd()]))\n",
    encoding="utf-8",
)
ok = True
for exe in ("pythonw.exe", "python.exe"):
    out.unlink(missing_ok=True)
    command = f'"{home / exe}" "{launcher}" run'
    t0 = time.monotonic()
    proc = subprocess.run(f'cmd /c "{command}"', cwd=os.environ["SYSTEMROOT"], stdin=subprocess.DEVNULL,
                          capture_output=True, timeout=60)
    for _ in range(100):
        if out.exists() and out.stat().st_size:
            break
        time.sleep(0.1)
    got = ast.literal_eval(out.read_text(encoding="utf-8")) if out.exists() else None
    good = got is not None and got[0] == str(home / exe) and got[1] == [str(launcher), "run"]
    ok &= good
    print(f"{exe}: cmd rc={proc.returncode} in {time.monotonic() - t0:.1f}s -> {got!a} "
          f"{'WORKS' if good else 'FAILS'}")
    print("   command line:", ascii(command))
sys.exit(0 if ok else 1)
