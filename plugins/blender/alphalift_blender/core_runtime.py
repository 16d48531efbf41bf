"""Which AlphaLift core Blender's worker runs, and what Blender's Allow Online Access means for it.

A bundled extension (build.py blender --bundle) ships the core and its wheels; Blender installs them
into the extensions' site-packages, which is on Blender's sys.path. The worker then runs on
Blender's own Python (sys.executable), that folder put first on its path by a one-line bootstrap:
the client strips PYTHONPATH from the worker's environment on purpose, and `-I` keeps the user's
site-packages and the current folder out.

A core set up by `install.py core` (client.json, or ALPHALIFT_PYTHON) is preferred where present:
it carries OpenVINO, which the bundle leaves out (a 59 MB wheel) and which runs a 4000x3000 cut-out
in 1.44 s against ONNX Runtime's 2.63 s (benchmarks/README.md).

No bpy here: the caller passes what it needs, so this module is tested without Blender.
"""
import importlib.util
import json
import os
import sys
from pathlib import Path
from typing import Callable, Dict, List, Optional

from .alphalift_client import AlphaLiftClient, AlphaLiftClientError, data_dir

BOOTSTRAP = ("import sys; sys.path.insert(0, sys.argv.pop(1)); "
             "from alphalift.cli import main; sys.exit(main(['serve', '--stdio']))")
ALLOW_ONLINE = "Preferences > System > Network > Allow Online Access"


def installed_core() -> Optional[str]:
    """The Python of the core `install.py core` set up (or ALPHALIFT_PYTHON), if it is there."""
    override = os.environ.get("ALPHALIFT_PYTHON")
    if override:
        return override
    try:
        python = json.loads((data_dir() / "client.json").read_text(encoding="utf-8"))["python"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return python if isinstance(python, str) and Path(python).exists() else None


def bundled_site() -> Optional[str]:
    """The site-packages folder holding the bundled core (`alphalift`) on Blender's own path; None
    when Blender has no core of its own (an extension built without --bundle)."""
    try:
        spec = importlib.util.find_spec("alphalift")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin or not spec.origin.endswith("__init__.py"):
        return None
    return str(Path(spec.origin).parent.parent)


def worker_command(site: str, python: Optional[str] = None) -> List[str]:
    """`alphalift serve --stdio` on ``python`` (Blender's own by default) with ``site`` first."""
    return [python or sys.executable, "-I", "-c", BOOTSTRAP, site]


class BlenderClient(AlphaLiftClient):
    """The client, with every cut-out told whether it may fetch a missing model (``online``)."""

    def __init__(self, online: Callable[[], bool], command: Optional[List[str]] = None) -> None:
        super().__init__(command=command)
        self.online = online

    def _call(self, message: Dict, on_progress=None) -> Dict:
        if message.get("op") == "remove":
            message = dict(message, options=dict(message.get("options") or {}, download=bool(self.online())))
        return super()._call(message, on_progress)


def make_client(online: Callable[[], bool], site: Optional[str] = None) -> BlenderClient:
    """A client for the installed core where there is one, else for the bundled core (``site``:
    where it is, found on Blender's path by default). With neither, the client's own
    not-installed message is what the user sees."""
    if installed_core() is None:
        site = site or bundled_site()
        if site is not None:
            return BlenderClient(online, command=worker_command(site))
    return BlenderClient(online)


def explain(error: AlphaLiftClientError, online: bool) -> str:
    """The message to show for ``error``: a missing model while online access is off says how to
    allow it, or where to put the file instead."""
    if error.code != "model-missing" or online:
        return str(error)
    return ("AlphaLift's model is not downloaded, and Blender's online access is off, so it was not "
            f"fetched. Allow it in {ALLOW_ONLINE}, or copy the model file (from another AlphaLift's "
            f"models folder, or `alphalift models import FILE`) into {data_dir() / 'models'}; "
            "then compute again.")
