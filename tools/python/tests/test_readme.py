"""README's Python and shell quick starts, run exactly as printed (from the repository root, with the built CLI on PATH)."""
import os
import re
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from onnx_gradsign import find_binary  # noqa: E402

REPO = Path(__file__).resolve().parents[3]
README = (REPO / "README.md").read_text()


def quick_start(language):
    """The code block of `language` in README's quick start section."""
    section = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(rf"```{language}\n(.*?)```", section, re.S)
    assert len(blocks) == 1, f"README's quick start has {len(blocks)} {language} blocks"
    return blocks[0]


def environment():
    env = dict(os.environ, PYTHONPATH=str(REPO / "tools" / "python"))
    env["PATH"] = os.path.dirname(find_binary()) + os.pathsep + env["PATH"]
    return env


def test_the_python_quick_start_prints_a_ranking():
    done = subprocess.run([sys.executable, "-c", quick_start("python")], cwd=REPO, env=environment(),
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert lines[0].split()[:4] == ["rank", "gradsign", "synflow", "params"]
    assert lines[2].split()[1] == "1"  # the header, the index name, then rank 1


def test_the_shell_quick_start_prints_a_ranking():
    commands = [line for line in quick_start("bash").splitlines() if line.startswith("onnx-gradsign ")]
    assert commands
    for command in commands:
        done = subprocess.run(command, shell=True, cwd=REPO, env=environment(), capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr
        assert done.stdout.splitlines()[0].split()[:2] == ["rank", "gradsign"]
