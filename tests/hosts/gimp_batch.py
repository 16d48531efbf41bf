# Runs inside real GIMP 3: gimp-console-3.0 -i --quit --batch-interpreter python-fu-eval -b - < this
# Drives AlphaLift's procedures on $ALPHALIFT_TEST_DIR/photo.png and records what happened.
import json
import os
import sys

from gi.repository import Gegl, Gimp, Gio

folder = os.environ["ALPHALIFT_TEST_DIR"]
sys.path.insert(0, folder)
from gimp_procedures import run  # noqa: E402  (copied beside this script)
report = {}


def shared_workers():
    """The pid of each shared AlphaLift worker answering in this user's socket folder (as the
    client finds it), asked over its socket with hello."""
    import glob
    import socket
    import tempfile

    runtime = os.environ.get("XDG_RUNTIME_DIR")
    sockets = (os.path.join(runtime, "alphalift") if runtime
               else os.path.join(tempfile.gettempdir(), f"alphalift.{os.geteuid()}"))
    pids = []
    for path in sorted(glob.glob(os.path.join(sockets, "worker-*.sock"))):
        try:
            with socket.socket(socket.AF_UNIX) as connection:
                connection.settimeout(30)
                connection.connect(path)
                connection.sendall(b'{"op": "hello", "protocol": 1, "id": 1}\n')
                pids.append(json.loads(connection.makefile().readline())["pid"])
        except (OSError, ValueError, KeyError):
            pass
    return pids


def load(name):
    return Gimp.file_load(Gimp.RunMode.NONINTERACTIVE, Gio.File.new_for_path(os.path.join(folder, name)))


def save(image, name):
    Gimp.file_save(Gimp.RunMode.NONINTERACTIVE, image, Gio.File.new_for_path(os.path.join(folder, name)), None)


try:
    image = load("photo.png")
    layer = image.get_layers()[0]
    report["remove"] = run("plug-in-alphalift-remove-background", image, [layer], refine=True)
    report["has_mask"] = layer.get_mask() is not None
    report["workers_after_first"] = shared_workers()
    # A second run without replace-mask must refuse and change nothing.
    undo_before = image.undo_is_enabled()
    report["again"] = run("plug-in-alphalift-remove-background", image, [layer])
    report["layers_after_refusal"] = [l.get_name() for l in image.get_layers()]
    report["decontaminate"] = run("plug-in-alphalift-remove-background", image, [layer],
                                  decontaminate=True)
    report["layers"] = [l.get_name() for l in image.get_layers()]
    report["select"] = run("plug-in-alphalift-select-subject", image, [layer])
    selection = Gimp.Selection.save(image)
    selection.set_name("subject-selection")
    save(image, "result.xcf")

    # A layer offset from the origin and hanging off the canvas.
    shifted = load("photo.png")
    moved = shifted.get_layers()[0]
    moved.set_offsets(-40, 25)
    report["offset"] = run("plug-in-alphalift-remove-background", shifted, [moved], refine=True)
    save(shifted, "offset.xcf")

    # Only inside a selection; replacing an existing mask when asked to.
    selected = load("photo.png")
    slayer = selected.get_layers()[0]
    report["first"] = run("plug-in-alphalift-remove-background", selected, [slayer], refine=True)
    selected.select_rectangle(Gimp.ChannelOps.REPLACE, 0, 0, 256, 512)
    report["replace"] = run("plug-in-alphalift-remove-background", selected, [slayer], refine=True,
                            **{"replace-mask": True})
    Gimp.Selection.none(selected)
    save(selected, "selection.xcf")

    # Grayscale, and high bit depth precisions.
    gray = load("gray.png")
    report["gray"] = run("plug-in-alphalift-remove-background", gray, [gray.get_layers()[0]])
    save(gray, "gray.xcf")
    for precision in ("U16_NON_LINEAR", "FLOAT_LINEAR"):
        deep = load("photo.png")
        deep.convert_precision(getattr(Gimp.Precision, precision))
        report[precision] = run("plug-in-alphalift-remove-background", deep, [deep.get_layers()[0]])
        save(deep, f"{precision}.xcf")

    # Every PF_* type the shim maps, through a test-only gimpfu script.
    typed = load("photo.png")
    report["all_types"] = run("python-fu-alphalift-all-types", typed, [typed.get_layers()[0]],
                              count=7, ratio=0.25, steps=2.0, text="bonjour", flag=False,
                              source=Gio.File.new_for_path("/etc/hostname"),
                              folder=Gio.File.new_for_path("/opt"),
                              colour=Gegl.Color.new("#0000ff"),
                              target=os.path.join(folder, "all_types.json"))

    # The gimpfu-style example, through the shim.
    washed = load("photo.png")
    wlayer = washed.get_layers()[0]
    report["gimpfu"] = run("python-fu-alphalift-colour-wash", washed, [wlayer],
                           colour=Gegl.Color.new("#00ff00"), opacity=40.0, rename=True,
                           **{"new-name": "Washed green"})
    report["gimpfu_layer"] = [wlayer.get_name(), wlayer.get_opacity()]
    save(washed, "gimpfu.xcf")
    report["workers_at_end"] = shared_workers()
except Exception:  # recorded for the test; never a modal dialog
    import traceback
    report["exception"] = traceback.format_exc()

with open(os.path.join(folder, "report.json"), "w") as handle:
    json.dump(report, handle, default=str)
