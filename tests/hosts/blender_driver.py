"""Runs inside a Python that has `bpy` (real Blender as a module): enables the installed AlphaLift
add-on, builds compositor scenes on a still and a 3-frame sequence, computes mattes, renders, and
writes report.json. Usage: python blender_driver.py ADDONS_DIR WORK_DIR
"""
import json
import os
import sys
import traceback

import bpy  # noqa: I001 - bpy first: it makes Blender's own modules importable
import addon_utils

ADDONS, WORK = sys.argv[1], sys.argv[2]
report = {"version": bpy.app.version_string}


def render(path: str) -> None:
    bpy.context.scene.render.filepath = path
    bpy.ops.render.render(write_still=True)


def mtimes(folder: str) -> dict:
    return {name: os.stat(os.path.join(folder, name)).st_mtime_ns
            for name in sorted(os.listdir(folder)) if name.startswith("matte_")}


def write_movie(first_frame: str, path: str) -> str:
    """A lossless 3-frame QuickTime (PNG codec) of the test sequence, written by Blender itself."""
    from alphalift_blender import node_group

    writer = bpy.data.scenes.new("movie writer")
    settings = writer.render
    settings.resolution_x = settings.resolution_y = 512
    settings.resolution_percentage = 100
    if hasattr(settings.image_settings, "media_type"):  # Blender 5
        settings.image_settings.media_type = "VIDEO"
    settings.image_settings.file_format = "FFMPEG"
    settings.ffmpeg.format = "QUICKTIME"
    settings.ffmpeg.codec = "PNG"
    settings.use_compositing, settings.use_sequencer = True, False
    writer.view_settings.view_transform = "Standard"
    writer.frame_start, writer.frame_end = 1, 3
    tree, output = node_group.fresh_compositor(writer)
    frames = tree.nodes.new("CompositorNodeImage")
    frames.image = bpy.data.images.load(first_frame, check_existing=False)
    frames.image.source = "SEQUENCE"
    frames.frame_duration, frames.frame_start = 3, 1
    tree.links.new(frames.outputs[0], output.inputs[0])
    settings.filepath = path
    with bpy.context.temp_override(scene=writer):
        bpy.ops.render.render(animation=True)
    folder = os.path.dirname(path)
    return os.path.join(folder, next(n for n in sorted(os.listdir(folder)) if n.startswith("clip")))


def scenario() -> None:
    sys.path.insert(0, ADDONS)
    module = addon_utils.enable("alphalift_blender", default_set=True, handle_error=None)
    report["enabled"] = module is not None
    from alphalift_blender import matte_job, node_group

    report["add_menu"] = [f.__name__ for f in bpy.types.NODE_MT_add._dyn_ui_initialize()]
    report["image_menu"] = [f.__name__ for f in bpy.types.IMAGE_MT_image._dyn_ui_initialize()]
    scene = bpy.context.scene
    scene.render.resolution_x = scene.render.resolution_y = 512
    scene.render.resolution_percentage = 100
    scene.render.image_settings.file_format = "PNG"
    scene.render.image_settings.color_mode = "RGBA"
    scene.render.film_transparent = True
    scene.render.use_compositing = True
    scene.view_settings.view_transform = "Standard"
    scene.frame_start, scene.frame_end = 1, 3
    tree, output = node_group.fresh_compositor(scene)
    source = tree.nodes.new("CompositorNodeImage")
    source.image = bpy.data.images.load(os.path.join(WORK, "photo.png"))
    assert bpy.ops.alphalift.add_node() == {"FINISHED"}
    alphalift = tree.nodes.active
    tree.links.new(source.outputs[0], alphalift.inputs["Image"])
    tree.links.new(alphalift.outputs["Image"], output.inputs[0])

    report["no_source"] = None
    empty = tree.nodes.new("CompositorNodeGroup")
    empty.node_tree = alphalift.node_tree
    empty.name = "Unwired"
    try:
        bpy.ops.alphalift.compute_matte(node_name="Unwired")
    except RuntimeError as exc:  # operators report errors as RuntimeError in scripts
        report["no_source"] = str(exc)
    tree.nodes.remove(empty)

    alphalift.alphalift.decontaminate = True
    report["still"] = list(bpy.ops.alphalift.compute_matte(node_name=alphalift.name))
    report["still_inputs"] = [l.from_node.name for s in alphalift.inputs for l in s.links]
    render(os.path.join(WORK, "still_render.png"))

    alphalift.alphalift.decontaminate = False
    source.image = bpy.data.images.load(os.path.join(WORK, "seq", "frame_0001.png"))
    source.image.source = "SEQUENCE"
    source.frame_duration, source.frame_start, source.frame_offset = 3, 1, 0
    report["sequence"] = list(bpy.ops.alphalift.compute_matte(node_name=alphalift.name))
    cache = matte_job.cache_folder(alphalift.name)
    first = mtimes(cache)
    for frame in (1, 2, 3):
        scene.frame_set(frame)
        render(os.path.join(WORK, f"seq_render_{frame}.png"))
    bpy.ops.alphalift.compute_matte(node_name=alphalift.name)
    second = mtimes(cache)
    changed = os.path.join(WORK, "seq", "frame_0002.png")
    os.utime(changed, ns=(os.stat(changed).st_atime_ns, os.stat(changed).st_mtime_ns + 10**9))
    bpy.ops.alphalift.compute_matte(node_name=alphalift.name)
    third = mtimes(cache)
    report["rerun_changed"] = [n for n in first if first[n] != second[n]]
    report["after_touch_changed"] = [n for n in second if second[n] != third[n]]
    report["cache"] = cache

    photo = bpy.data.images.load(os.path.join(WORK, "photo.png"), check_existing=False)
    photo.name = "photo for the image editor"
    report["image_editor"] = list(bpy.ops.alphalift.image_remove_background(image_name=photo.name))
    cutout = bpy.data.images[f"{photo.name} (AlphaLift)"]
    cutout.filepath_raw = os.path.join(WORK, "image_editor_cutout.png")
    cutout.file_format = "PNG"
    cutout.save()
    try:
        bpy.ops.alphalift.image_remove_background(image_name="no such image")
    except RuntimeError as exc:
        report["image_editor_missing"] = str(exc)

    movie = write_movie(os.path.join(WORK, "seq", "frame_0001.png"), os.path.join(WORK, "clip.mov"))
    source.image = bpy.data.images.load(movie)
    report["movie_source"] = source.image.source
    source.frame_duration, source.frame_start, source.frame_offset = 3, 1, 0
    report["movie"] = list(bpy.ops.alphalift.compute_matte(node_name=alphalift.name))
    for frame in (1, 2, 3):
        scene.frame_set(frame)
        render(os.path.join(WORK, f"movie_render_{frame}.png"))

    addon_utils.disable("alphalift_blender", default_set=True)
    report["left_behind"] = [name for name in ("ALPHALIFT_PT_node", "ALPHALIFT_OT_compute_matte",
                                               "AlphaLiftNodeSettings") if hasattr(bpy.types, name)]
    report["property_left"] = hasattr(bpy.types.CompositorNodeGroup, "alphalift")
    report["menus_left"] = [f.__name__ for f in bpy.types.NODE_MT_add._dyn_ui_initialize()
                            if f.__name__ == "draw_add_menu"]


try:
    scenario()
except Exception:
    report["exception"] = traceback.format_exc()
with open(os.path.join(WORK, "report.json"), "w") as handle:
    json.dump(report, handle, indent=1)
sys.stdout.flush()
os._exit(0)  # bpy as a module can hang at interpreter exit
