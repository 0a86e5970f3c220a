"""A PEP 517/660 build backend in the standard library alone, so `pip install tools/python` (and `pip install -e`) work
offline: pip's build isolation would otherwise download setuptools. It builds a pure-Python wheel of the packages under
this folder, with the metadata of pyproject.toml's [project] table."""
import base64
import hashlib
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
DIST = PROJECT["name"].replace("-", "_")
PACKAGE = "onnx_gradsign"
TAG = "py3-none-any"


def _metadata():
    lines = ["Metadata-Version: 2.1", f"Name: {PROJECT['name']}", f"Version: {PROJECT['version']}",
             f"Summary: {PROJECT['description']}", f"Requires-Python: {PROJECT['requires-python']}"]
    for extra, requirements in PROJECT.get("optional-dependencies", {}).items():
        lines.append(f"Provides-Extra: {extra}")
        lines += [f'Requires-Dist: {r}; extra == "{extra}"' for r in requirements]
    return "\n".join(lines) + "\n\n" + (ROOT / PROJECT["readme"]).read_text()


def _wheel(directory, files):
    """Writes the wheel holding `files` ({archive name: bytes}) plus its dist-info, and returns its file name."""
    name = f"{DIST}-{PROJECT['version']}-{TAG}.whl"
    info = f"{DIST}-{PROJECT['version']}.dist-info"
    files = dict(files)
    files[f"{info}/METADATA"] = _metadata().encode()
    files[f"{info}/WHEEL"] = f"Wheel-Version: 1.0\nGenerator: onnx-gradsign-backend\nRoot-Is-Purelib: true\nTag: {TAG}\n".encode()
    record = []
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    record.append(f"{info}/RECORD,,")
    files[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
    with zipfile.ZipFile(Path(directory) / name, "w", zipfile.ZIP_DEFLATED) as wheel:
        for path, data in files.items():
            wheel.writestr(path, data)
    return name


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    sources = sorted(p for p in (ROOT / PACKAGE).rglob("*.py") if "__pycache__" not in p.parts)
    return _wheel(wheel_directory, {p.relative_to(ROOT).as_posix(): p.read_bytes() for p in sources})


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    # A .pth file puts this folder on sys.path: edits to the sources take effect without reinstalling.
    return _wheel(wheel_directory, {f"{DIST}.pth": (str(ROOT) + "\n").encode()})


def get_requires_for_build_wheel(config_settings=None):
    return []


get_requires_for_build_editable = get_requires_for_build_wheel
