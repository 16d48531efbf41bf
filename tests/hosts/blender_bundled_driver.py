"""Runs inside a Python that has `bpy` (real Blender as a module), in a fresh HOME where the bundled
AlphaLift extension was just installed from its zip and nothing else: enables it, adds the node to a
still, computes its matte (Blender's own Python runs the bundled core), then asks for a model that
is not on disk with Allow Online Access off, and writes report.json.
Usage: python blender_bundled_driver.py WORK_DIR
"""
import json
import os
import sys
import time
import traceback

import bpy  # noqa: I001 - bpy first: it makes Blender's own modules importable
import addon_utils

WORK = sys.argv[1]
MODULE = "bl_ext.user_default.alphalift"
report = {"version": bpy.app.version_string}


def scenario() -> None:
    started = time.monotonic()
    report["enabled"] = addon_utils.enable(MODULE, default_set=True, handle_error=None) is not None
    matte_job = sys.modules[f"{MODULE}.matte_job"]
    node_group = sys.modules[f"{MODULE}.node_group"]
    bpy.context.preferences.system.use_online_access = False
    report["online_access"] = bpy.app.online_access
    scene = bpy.context.scene
    tree, output = node_group.fresh_compositor(scene)
    source = tree.nodes.new("CompositorNodeImage")
    source.image = bpy.data.images.load(os.path.join(WORK, "photo.png"))
    assert bpy.ops.alphalift.add_node() == {"FINISHED"}
    node = tree.nodes.active
    tree.links.new(source.outputs[0], node.inputs["Image"])
    tree.links.new(node.outputs["Image"], output.inputs[0])
    computing = time.monotonic()
    report["compute"] = list(bpy.ops.alphalift.compute_matte(node_name=node.name))
    report["first_matte_seconds"] = time.monotonic() - computing
    report["start_to_matte_seconds"] = time.monotonic() - started
    report["worker_command"] = matte_job.client().command
    report["python"] = sys.executable
    matte = tree.nodes[f"{node.name} Matte"].image
    report["matte"] = bpy.path.abspath(matte.filepath)

    node.alphalift.model = "u2net"  # in the catalogue, not on disk
    try:
        report["offline"] = list(bpy.ops.alphalift.compute_matte(node_name=node.name))
    except RuntimeError as exc:  # an ERROR report
        report["offline"] = str(exc)
    matte_job.close_client()


try:
    scenario()
except Exception:
    report["exception"] = traceback.format_exc()
with open(os.path.join(WORK, "report.json"), "w") as handle:
    json.dump(report, handle, indent=1)
sys.stdout.flush()
os._exit(0)  # bpy as a module can hang at interpreter exit
