"""Package rules: the library never imports streamlit, and stays light to import."""

import ast
import subprocess
import sys
from pathlib import Path

import unetviz

PKG = Path(unetviz.__file__).parent


def test_no_module_of_unetviz_imports_streamlit():
    for path in PKG.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            assert not any(n.split(".")[0] == "streamlit" for n in names), path.name


def test_importing_the_package_does_not_load_keras():
    code = "import unetviz, sys; print(any(m in sys.modules for m in ('keras', 'tensorflow')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parent.parent)
    assert out.stdout.strip() == "False"
