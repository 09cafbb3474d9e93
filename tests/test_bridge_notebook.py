"""colab/voxtray_bridge.ipynb: valid nbformat, asks for a GPU, and its cells do nothing but fetch and run
colab/bridge.py (all logic lives in the tested script, none in the notebook)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat

from tests.fixtures.bridge import load_bridge_module

NOTEBOOK = Path(__file__).resolve().parent.parent / "colab" / "voxtray_bridge.ipynb"
ALLOWED_CALLS = {"os.path.exists", "files.upload"}


def _code_cells() -> list[str]:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    return [c.source for c in nb.cells if c.cell_type == "code"]


def test_notebook_is_valid_nbformat_and_asks_for_a_gpu_runtime() -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata["accelerator"] == "GPU"
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")  # shipped without outputs


def test_every_shell_command_in_the_notebook_runs_bridge_py_with_options_it_accepts() -> None:
    sources = _code_cells()
    # The form fields' default values (NAME = "value"  #@param ...) fill the {NAME} holes, as Colab does.
    params = dict(re.findall(r'^(\w+) = "([^"]*)"\s+#@param', "\n".join(sources), re.M))
    shell = [line.strip() for src in sources for line in src.splitlines() if line.strip().startswith(("!", "%"))]
    assert shell, "the notebook must run bridge.py"
    parser = load_bridge_module().build_parser()
    for line in shell:
        assert line.startswith("!python bridge.py"), line
        filled = re.sub(r"\{(\w+)\}", lambda m: params[m.group(1)], line)
        args = parser.parse_args([a.strip('"') for a in filled.split()[2:]])  # SystemExit on unknown options
        assert args.tunnel in ("cloudflared", "ngrok") and args.model


def test_python_in_the_notebook_only_fetches_bridge_py_and_passes_form_values() -> None:
    for src in _code_cells():
        python = "\n".join(line for line in src.splitlines() if not line.strip().startswith(("!", "%")))
        tree = ast.parse(python)
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                assert ast.unparse(node.func) in ALLOWED_CALLS, ast.unparse(node)
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = {a.name for a in node.names}
                assert names <= {"os", "files"}, names
        assert not re.search(r"\b(pip|apt|curl|wget|ollama serve|subprocess)\b", python)
