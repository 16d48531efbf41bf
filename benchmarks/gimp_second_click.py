#!/usr/bin/env python3
"""Remove Background in the real GIMP 3, a first click against the clicks after it, 1920x1080.

    sudo python benchmarks/gimp_second_click.py [--clicks 4]

GIMP starts a plug-in process for every call; the plug-in reaches AlphaLift's shared worker
(`serve --socket`), which the first click starts and later clicks, in this GIMP or the next one,
find running with the model loaded. Runs in the Debian 13 chroot of the GIMP host tests
(tests/hosts/chroot.sh, in $ALPHALIFT_CACHE/trixie; needs root), with the working tree installed
there by the project's installer and the host's model files mounted. The clicks repeat on one
image (as when only the prompt changes: the worker's Remover keeps that image's model output),
then one more is on another image (the network runs, the model already loaded). Three GIMP
sessions, one
after the other: the first warms the fresh installation (Python's first imports of it); before
the second every shared worker in the chroot is stopped, so its first click starts the worker and
loads the model, as every click did before the worker was shared; the third finds that worker
still running, holding both images' model outputs. Prints seconds per click, as GIMP's PDB call returns (plug-in start, pixels both
ways, the cut-out with the default model and refine, the mask written).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))
from tests.hosts.conftest import CHROOT_HOME, ROOT, Chroot, copy_project  # noqa: E402

WORK = "/tmp/alphalift-gimp-bench"
SIZE = (1920, 1080)

# Runs inside GIMP (python-fu-eval): CLICKS Remove Background calls on one layer, then one on
# another image, timed.
CLICKS = """
import json, os, time
from gi.repository import Gimp, Gio
folder = os.environ["ALPHALIFT_TEST_DIR"]
procedure = Gimp.get_pdb().lookup_procedure("plug-in-alphalift-remove-background")
seconds = []
for name in ["photo.png"] * int(os.environ["CLICKS"]) + ["other.png"]:
    if not seconds or name == "other.png":
        image = Gimp.file_load(Gimp.RunMode.NONINTERACTIVE, Gio.File.new_for_path(folder + "/" + name))
        layer = image.get_layers()[0]
    config = procedure.create_config()
    config.set_property("run-mode", Gimp.RunMode.NONINTERACTIVE)
    config.set_property("image", image)
    config.set_core_object_array("drawables", [layer])
    config.set_property("replace-mask", True)
    start = time.perf_counter()
    status = procedure.run(config).index(0)
    seconds.append(time.perf_counter() - start)
    assert status == Gimp.PDBStatusType.SUCCESS, status
with open(folder + "/" + os.environ["SESSION"] + ".json", "w") as out:
    json.dump(seconds, out)
"""


def mounted(path: Path) -> bool:
    return subprocess.run(["mountpoint", "-q", str(path)]).returncode == 0


def host_tests_running() -> bool:
    """A pytest of GIMP's or Krita's host tests (they share the chroot) is running."""
    for entry in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            args = entry.read_bytes().split(b"\0")
        except OSError:
            continue
        if any(arg.rstrip(b"/") == b"tests/hosts" or arg.startswith((b"tests/hosts/test_gimp",
               b"tests/hosts/test_krita")) for arg in args):
            return True
    return False


def stop_shared_workers() -> list[int]:
    """SIGKILL every `alphalift serve --socket` whose root is the chroot."""
    stopped = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().split(b"\0")
            in_chroot = os.path.samefile(entry / "root", ROOT)
        except OSError:
            continue
        if in_chroot and b"serve" in command and b"--socket" in command:
            os.killpg(int(entry.name), signal.SIGKILL)
            stopped.append(int(entry.name))
    return stopped


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clicks", type=int, default=4, help="Remove Background calls a GIMP session")
    args = parser.parse_args()
    if os.geteuid() != 0:
        parser.error("needs root (a chroot with the real GIMP)")

    import skimage.data
    from PIL import Image

    from alphalift.models import ModelStore

    store = ModelStore()
    store.runtime_path(store.catalog.get(None))
    script = PROJECT / "tests" / "hosts" / "chroot.sh"
    if host_tests_running():  # its teardown would unmount the chroot under us, and ours under it
        parser.error("a host test is using the chroot; run this when it is done")
    was_up = mounted(ROOT / "proc")
    subprocess.run(["sh", str(script), str(ROOT), "up"], check=True, capture_output=True)
    models = ROOT / CHROOT_HOME.lstrip("/") / "models"
    models.mkdir(parents=True, exist_ok=True)
    mount_models = not mounted(models)
    if mount_models:
        subprocess.run(["mount", "--bind", str(store.root), str(models)], check=True)
    try:
        chroot = Chroot()
        copy_project()
        installed = chroot.run("python3 /opt/alphalift-src/installers/install.py gimp")
        assert installed.returncode == 0, installed.stderr[-2000:]
        work = chroot.path(WORK)
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        photo = Image.fromarray(skimage.data.astronaut()).resize(SIZE, Image.LANCZOS)
        photo.save(work / "photo.png")
        photo.transpose(Image.FLIP_LEFT_RIGHT).save(work / "other.png")  # other pixels: no cache
        (work / "clicks.py").write_text(CLICKS)
        print(f"GIMP {chroot.run('gimp-console-3.0 --version').stdout.strip()}; {SIZE[0]}x{SIZE[1]}; "
              f"default model, refine on, ONNX Runtime; {os.cpu_count()} CPUs, load "
              f"{os.getloadavg()[0]:.1f} before")
        sessions = (("after install", True), ("no worker running", True),
                    ("worker left running, both images seen", False))
        for session, (label, stop) in enumerate(sessions, 1):
            if stop:
                stop_shared_workers()
            ran = chroot.run(f"gimp-console-3.0 -i --quit --batch-interpreter python-fu-eval -b - "
                             f"< {WORK}/clicks.py", ALPHALIFT_TEST_DIR=WORK, CLICKS=str(args.clicks),
                             SESSION=f"session{session}", ALPHALIFT_IDLE_EXIT="60")
            assert ran.returncode == 0, ran.stderr[-3000:]
            seconds = json.loads((work / f"session{session}.json").read_text())
            print(f"GIMP session {session} ({label}): "
                  + ", ".join(f"click {i} {s:.2f} s" for i, s in enumerate(seconds[:-1], 1))
                  + f"; then another image {seconds[-1]:.2f} s")
        print(f"load {os.getloadavg()[0]:.1f} after")
        stop_shared_workers()
    finally:
        if mount_models:
            subprocess.run(["umount", "-l", str(models)], check=False)
        if not was_up:
            subprocess.run(["sh", str(script), str(ROOT), "down"], check=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
