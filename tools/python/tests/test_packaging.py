"""`pip install tools/python` (and `-e`) works offline: the in-tree build backend needs nothing that pip's build isolation
would download."""
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(importlib.util.find_spec("pip") is None, reason="pip is not installed (Debian: python3-pip)")


def pip(*args):
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--no-index", "--disable-pip-version-check", *args],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr


def test_install_builds_a_wheel_without_the_network(tmp_path):
    pip("--target", str(tmp_path / "site"), str(PACKAGE))
    installed = subprocess.run([sys.executable, "-c", "import onnx_gradsign, onnx_gradsign.nas.spaces; print(onnx_gradsign.__file__)"],
                               capture_output=True, text=True, env={"PYTHONPATH": str(tmp_path / "site")})
    assert installed.returncode == 0, installed.stderr
    assert installed.stdout.strip().startswith(str(tmp_path / "site"))
    assert list((tmp_path / "site").glob("onnx_gradsign-*.dist-info/METADATA"))


def test_editable_install_points_at_the_sources(tmp_path):
    pip("--prefix", str(tmp_path / "prefix"), "-e", str(PACKAGE))
    (pth,) = (tmp_path / "prefix").rglob("onnx_gradsign.pth")
    assert Path(pth.read_text().strip()) == PACKAGE
