"""A stand-in `blender` executable for the installers' tests: it answers --version, runs the
extension validator's verdict it is given, and fails scripts the way Blender does: the traceback is
printed, yet the exit status is 0 unless --python-exit-code is given. Each call is logged."""
from __future__ import annotations

import json
import sys
from pathlib import Path

SCRIPT = '''#!{python}
import json, sys
args = sys.argv[1:]
with open({log!r}, "a") as log:
    log.write(json.dumps(args) + "\\n")
if args == ["--version"]:
    print("Blender {version}\\n\\tbuild date: 2025-01-01")
    sys.exit(0)
if args[:3] == ["--command", "extension", "validate"]:
    if {validate_error!r}:
        print({validate_error!r})
        sys.exit(1)
    print("Success parsing TOML in", args[3])
    sys.exit(0)
if "--python-expr" in args:
    if {script_fails!r}:
        print("Traceback (most recent call last):\\nRuntimeError: Error: Add-on not loaded", file=sys.stderr)
        if "--python-exit-code" in args:
            sys.exit(int(args[args.index("--python-exit-code") + 1]))
    sys.exit(0)
sys.exit(2)
'''


def fake_blender(folder: Path, version: str = "4.5.4", validate_error: str = "",
                 script_fails: bool = False) -> Path:
    """Write ``folder``/blender (calls logged in ``folder``/calls.jsonl) and return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    executable = folder / "blender"
    executable.write_text(SCRIPT.format(python=sys.executable, log=str(folder / "calls.jsonl"),
                                        version=version, validate_error=validate_error,
                                        script_fails=script_fails))
    executable.chmod(0o755)
    return executable


def calls(folder: Path) -> list[list[str]]:
    log = folder / "calls.jsonl"
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


# A stand-in for the Mask datablock prompt_place.py reads (only the attributes it uses).

class _Named:
    def __init__(self, **fields) -> None:
        self.__dict__.update(fields)


def fake_mask(name: str, layers: dict[str, list[tuple[float, float]]]) -> _Named:
    """A Mask datablock: each layer one spline holding the given points (MaskSplinePoint.co)."""
    return _Named(name=name, layers=[
        _Named(name=layer, splines=[_Named(points=[_Named(co=co) for co in points])])
        for layer, points in layers.items()])
