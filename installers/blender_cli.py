"""Asking a `blender` executable things, for build.py and install.py: its version, its verdict on an
extension archive, and enabling the add-on. Standard library only.

Blender exits 0 after a Python script raised unless `--python-exit-code` says otherwise, and a
Blender older than 4.2 has no `--command` (it would open the argument as a file, in a window):
both are why every call here checks the version or the exit code it asked for.
"""
from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Optional, Tuple

MIN_VERSION = (4, 2)  # the manifest's blender_version_min: the first Blender with extensions
SCRIPT_FAILED = 17  # the exit status Blender is asked to use when our script raises

ENABLE = """\
import bpy
module = {module!r}
bpy.ops.preferences.addon_enable(module=module)
if module not in bpy.context.preferences.addons:
    raise RuntimeError(f"Blender did not enable {{module}}")
bpy.ops.wm.save_userpref()
"""


class BlenderFailed(Exception):
    """A Blender run that did not do what it was asked; the message says what it printed."""


def version_text(version: Tuple[int, int]) -> str:
    return f"{version[0]}.{version[1]}"


def blender_version(executable: str) -> Optional[Tuple[int, int]]:
    """(major, minor) from `blender --version`; None when it does not run or does not say."""
    try:
        done = subprocess.run([executable, "--version"], capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r"^Blender (\d+)\.(\d+)", done.stdout, re.MULTILINE)
    return (int(match.group(1)), int(match.group(2))) if match else None


def last_lines(done: subprocess.CompletedProcess, count: int = 4) -> str:
    """The end of a Blender run's output on one line: where it says what went wrong."""
    lines = [line.strip() for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    return " / ".join(lines[-count:]) or f"exit status {done.returncode}, no message"


def validation_problems(executable: str, archive: Path) -> Optional[str]:
    """What `blender --command extension validate` finds wrong with ``archive``; None if it passes."""
    try:
        done = subprocess.run([executable, "--command", "extension", "validate", str(archive)],
                              capture_output=True, text=True, timeout=300)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{executable} could not run it ({exc})"
    if done.returncode == 0:
        return None
    problems = [line.strip() for line in (done.stdout + done.stderr).splitlines() if "ERROR" in line]
    return " / ".join(problems) or last_lines(done)


def enable_addon(executable: str, module: str) -> None:
    """Enable ``module`` in that Blender's preferences and save them; BlenderFailed if it did not."""
    script = ENABLE.format(module=module)
    try:
        done = subprocess.run([executable, "--background", "--python-exit-code", str(SCRIPT_FAILED),
                               "--python-expr", script], capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise BlenderFailed(str(exc)) from None
    if done.returncode != 0:
        raise BlenderFailed(last_lines(done))


def previous_user_folder(base: Path, version: Tuple[int, int]) -> Optional[Path]:
    """The user folder whose settings a first start of ``version`` offers to copy (the rule of
    Blender's Copy Previous Settings): the newest earlier minor of its major, else of the one before."""
    major, minor = version
    earlier = [(major, m) for m in range(minor - 1, -1, -1)] + [(major - 1, m) for m in range(10, -1, -1)]
    return next((base / version_text(v) for v in earlier if (base / version_text(v)).is_dir()), None)
