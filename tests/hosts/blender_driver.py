"""Runs inside a Python that has `bpy` (real Blender as a module): enables the installed AlphaLift
add-on, builds compositor scenes on a still, a 3-frame sequence and a movie of it (Temporal
Smoothing on, its default; the sequence's range computed as 1-2, then grown to 1-3), computes mattes,
renders, saves and reopens two scenes whose nodes share a name, and writes report.json.
With "prompts" (python blender_driver.py ADDONS_DIR WORK_DIR prompts) it runs the prompt scenario
alone instead: the node's box, a keyframed box on a sequence, a Mask's exclude point, and the Image
Editor's Remove Background with that Mask, on WORK_DIR/pair.png (two subjects).
Usage: python blender_driver.py ADDONS_DIR WORK_DIR [prompts]
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


def set_up_render(scene) -> None:
    """512 px RGBA PNGs of the compositor's output, colours untouched (Standard view)."""
    scene.render.resolution_x = scene.render.resolution_y = 512
    scene.render.resolution_percentage = 100
    scene.render.image_settings.file_format = "PNG"
    scene.render.image_settings.color_mode = "RGBA"
    scene.render.film_transparent = True
    scene.render.use_compositing = True
    scene.view_settings.view_transform = "Standard"


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


def errors_by_code(node_name: str) -> dict:
    """Compute Matte against a worker that refuses with each code: cancelled is a warning (the
    operator ends without raising), any other code an error, whatever the message's words."""
    from alphalift_blender import matte_job
    from alphalift_blender.alphalift_client import AlphaLiftClientError

    class Refusing:
        def __init__(self, message: str, code: str) -> None:
            self.message, self.code = message, code

        def remove_file(self, *args, **kwargs):
            raise AlphaLiftClientError(self.message, self.code)

    real, results = matte_job.client, {}
    try:
        for code, message in (("cancelled", "Stopped at your request."),
                              ("bad-image", "/shots/cancelled-takes/photo.png is not an image.")):
            matte_job.client = lambda m=message, c=code: Refusing(m, c)
            try:
                results[code] = list(bpy.ops.alphalift.compute_matte(node_name=node_name))
            except RuntimeError as exc:  # an ERROR report
                results[code] = str(exc)
    finally:
        matte_job.client = real
    return results


def feed(node, photo: str) -> None:
    """Put ``photo`` in the Image node that feeds the AlphaLift ``node``."""
    node.inputs["Image"].links[0].from_node.image = bpy.data.images.load(photo, check_existing=False)


def two_scenes() -> None:
    """The file saved; the main scene's AlphaLift node moved to the photo and computed; a Full Copy
    of the scene (the same node: same name, same cache id) moved to the mirrored photo and computed.
    Saved and reopened, each scene must render its own matte."""
    from alphalift_blender import matte_job, node_group

    folder = os.path.join(WORK, "two_scenes")
    os.makedirs(folder)
    blend = os.path.join(folder, "two_scenes.blend")
    bpy.ops.wm.save_as_mainfile(filepath=blend)
    first = bpy.context.scene
    first.name = "first"
    node = node_group.scene_compositor(first).nodes[node_group.GROUP_NAME]
    feed(node, os.path.join(WORK, "photo.png"))
    report["first_compute"] = list(bpy.ops.alphalift.compute_matte(node_name=node.name))
    bpy.ops.scene.new(type="FULL_COPY")  # Blender copies the active scene, node properties and all
    second = next(scene for scene in bpy.data.scenes if scene != first)
    second.name = "second"
    copied = node_group.scene_compositor(second).nodes[node_group.GROUP_NAME]
    report["copied_the_id"] = copied.alphalift.cache_id == node.alphalift.cache_id
    feed(copied, os.path.join(WORK, "seq", "frame_0002.png"))
    with bpy.context.temp_override(scene=second):
        report["second_compute"] = list(bpy.ops.alphalift.compute_matte(node_name=copied.name))
    bpy.ops.wm.save_mainfile()
    bpy.ops.wm.open_mainfile(filepath=blend)
    report["two_scenes_folders"] = []
    for name in ("first", "second"):
        scene = bpy.data.scenes[name]
        alphalift = node_group.scene_compositor(scene).nodes[node_group.GROUP_NAME]
        report["two_scenes_folders"].append(matte_job.cache_folder(alphalift))
        scene.frame_set(1)
        with bpy.context.temp_override(scene=scene):
            render(os.path.join(WORK, f"two_scenes_{name}.png"))


def scenario() -> None:
    sys.path.insert(0, ADDONS)
    module = addon_utils.enable("alphalift_blender", default_set=True, handle_error=None)
    report["enabled"] = module is not None
    from alphalift_blender import matte_job, node_group

    report["add_menu"] = [f.__name__ for f in bpy.types.NODE_MT_add._dyn_ui_initialize()]
    report["image_menu"] = [f.__name__ for f in bpy.types.IMAGE_MT_image._dyn_ui_initialize()]
    scene = bpy.context.scene
    set_up_render(scene)
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
    alphalift.alphalift.refine = False  # the frame is stale again: Compute Matte asks the worker
    report["errors_by_code"] = errors_by_code(alphalift.name)
    alphalift.alphalift.refine = True

    alphalift.alphalift.decontaminate = False
    source.image = bpy.data.images.load(os.path.join(WORK, "seq", "frame_0001.png"))
    source.image.source = "SEQUENCE"
    source.frame_duration, source.frame_start, source.frame_offset = 3, 1, 0
    settings = alphalift.alphalift
    report["temporal_default"] = settings.temporal
    settings.use_scene_range, settings.frame_start, settings.frame_end = False, 1, 2
    report["sequence_first_two"] = list(bpy.ops.alphalift.compute_matte(node_name=alphalift.name))
    cache = matte_job.cache_folder(alphalift)
    two = mtimes(cache)
    settings.frame_end = 3  # the range grows: frame 3 goes on from the frame 2 the worker holds
    report["sequence"] = list(bpy.ops.alphalift.compute_matte(node_name=alphalift.name))
    settings.use_scene_range = True
    first = mtimes(cache)
    report["range_grown_changed"] = [n for n in first if first[n] != two.get(n)]
    for frame in (1, 2, 3):
        scene.frame_set(frame)
        render(os.path.join(WORK, f"seq_render_{frame}.png"))
    bpy.ops.alphalift.compute_matte(node_name=alphalift.name)
    second = mtimes(cache)
    changed = os.path.join(WORK, "seq", "frame_0002.png")
    os.utime(changed, ns=(os.stat(changed).st_atime_ns, os.stat(changed).st_mtime_ns + 10**9))
    bpy.ops.alphalift.compute_matte(node_name=alphalift.name)  # frame 1 warms up, frame 2 is cut
    third = mtimes(cache)
    report["rerun_changed"] = [n for n in first if first[n] != second[n]]
    report["after_touch_changed"] = [n for n in second if second[n] != third[n]]
    report["cache"] = cache
    scene.frame_set(2)
    render(os.path.join(WORK, "seq_touched_render_2.png"))

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

    two_scenes()
    addon_utils.disable("alphalift_blender", default_set=True)
    report["left_behind"] = [name for name in ("ALPHALIFT_PT_node", "ALPHALIFT_OT_compute_matte",
                                               "AlphaLiftNodeSettings") if hasattr(bpy.types, name)]
    report["property_left"] = any(hasattr(bpy.types.CompositorNodeGroup, name) for name in (
        "alphalift", "alphalift_use_box", "alphalift_box_x", "alphalift_box_height"))
    report["menus_left"] = [f.__name__ for f in bpy.types.NODE_MT_add._dyn_ui_initialize()
                            if f.__name__ == "draw_add_menu"]


BOX_FIELDS = ("x", "y", "width", "height")


def set_box(node, values) -> None:
    for name, value in zip(BOX_FIELDS, values):
        setattr(node, f"alphalift_box_{name}", value)


def prompts() -> None:
    """Two subjects in pair.png; the node (model "tiny") computed without a prompt, with a box
    around the right one (rendered), again unchanged (cached), with the box widened (recomputed),
    with only a Mask's exclude point on the left one; a 2-frame sequence whose box is keyframed
    from the left subject to the right; the Image Editor's Remove Background with the Mask.
    Each computed matte is copied to WORK as NAME_matte_000N.png."""
    import shutil

    import numpy as np

    sys.path.insert(0, ADDONS)
    addon_utils.enable("alphalift_blender", default_set=True, handle_error=None)
    from alphalift_blender import matte_job, node_group

    pair = os.path.join(WORK, "pair.png")
    with open(os.path.join(WORK, "boxes.json")) as handle:
        boxes = json.load(handle)  # the boxes in Box Mask's terms and the point in mask space
    scene = bpy.context.scene
    set_up_render(scene)
    scene.render.resolution_x, scene.render.resolution_y = boxes["size"]
    tree, output = node_group.fresh_compositor(scene)
    source = tree.nodes.new("CompositorNodeImage")
    source.image = bpy.data.images.load(pair)
    bpy.ops.alphalift.add_node()
    node = tree.nodes.active
    tree.links.new(source.outputs[0], node.inputs["Image"])
    tree.links.new(node.outputs["Image"], output.inputs[0])
    settings = node.alphalift
    settings.model, settings.temporal = "tiny", False

    def compute(name: str) -> None:
        cache = matte_job.cache_folder(node) if settings.cache_id else ""
        before = mtimes(cache) if cache and os.path.isdir(cache) else {}
        report[name] = list(bpy.ops.alphalift.compute_matte(node_name=node.name))
        cache = matte_job.cache_folder(node)
        after = mtimes(cache)
        report[name + "_changed"] = [file for file in after if after[file] != before.get(file)]
        for file in report[name + "_changed"]:
            shutil.copy2(os.path.join(cache, file), os.path.join(WORK, f"{name}_{file}"))

    compute("automatic")
    node.alphalift_use_box = True
    set_box(node, boxes["right"])
    compute("boxed")
    render(os.path.join(WORK, "boxed_render.png"))
    compute("boxed_again")
    node.alphalift_box_width += 0.02
    compute("box_widened")
    node.alphalift_use_box = False
    clicks = bpy.data.masks.new("Clicks")
    clicks.layers.new(name="Exclude").splines.new().points[0].co = boxes["left_point"]
    settings.mask = clicks
    compute("excluded")

    settings.mask = None
    node.alphalift_use_box = True
    source.image = bpy.data.images.load(os.path.join(WORK, "seq", "frame_0001.png"))
    source.image.source = "SEQUENCE"
    source.frame_duration, source.frame_start, source.frame_offset = 2, 1, 0
    settings.use_scene_range, settings.frame_start, settings.frame_end = False, 1, 2
    for frame, side in ((1, "left"), (2, "right")):
        set_box(node, boxes[side])
        for name in BOX_FIELDS:
            node.keyframe_insert(f"alphalift_box_{name}", frame=frame)
    scene.frame_set(2)
    compute("keyframed")
    report["frame_after_keyframed"] = scene.frame_current

    photo = bpy.data.images.load(pair, check_existing=False)
    photo.name = "pair for the image editor"
    before = np.empty(len(photo.pixels), np.float32)
    photo.pixels.foreach_get(before)
    report["image_editor"] = list(bpy.ops.alphalift.image_remove_background(
        image_name=photo.name, model="tiny", mask_name="Clicks"))
    after = np.empty(len(photo.pixels), np.float32)
    photo.pixels.foreach_get(after)
    report["image_editor_source_untouched"] = bool(np.array_equal(before, after)) and not photo.is_dirty
    cutout = bpy.data.images[f"{photo.name} (AlphaLift)"]
    cutout.filepath_raw = os.path.join(WORK, "image_editor_cutout.png")
    cutout.file_format = "PNG"
    cutout.save()
    try:
        bpy.ops.alphalift.image_remove_background(image_name=photo.name, model="tiny", use_box=True,
                                                  box_x=3.0)
    except RuntimeError as exc:
        report["image_editor_box_off_image"] = str(exc)
    addon_utils.disable("alphalift_blender", default_set=True)
    report["box_properties_left"] = [name for name in dir(bpy.types.CompositorNodeGroup)
                                     if name.startswith("alphalift")]


try:
    prompts() if sys.argv[3:] == ["prompts"] else scenario()
except Exception:
    report["exception"] = traceback.format_exc()
with open(os.path.join(WORK, "report.json"), "w") as handle:
    json.dump(report, handle, indent=1)
sys.stdout.flush()
os._exit(0)  # bpy as a module can hang at interpreter exit
