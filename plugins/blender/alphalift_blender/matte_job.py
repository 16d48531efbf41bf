"""Compute Matte's work: plan the frames of an AlphaLift node's source, run the stale ones in the
worker, then wire the matte (and foreground) image sequences into the node.

With Temporal Smoothing (sequences and movies) the stale frames go to the worker as frames of one
shot, the sequence session named by the node's cache id (the protocol's "Sequence sessions"): a
whole range gives exactly the CLI's `alphalift remove FRAMES --sequence` mattes; a run of stale
frames after a fresh one warms up from that frame first (frames.sequence_steps).

The node's box and its Mask's points (prompt_place.py) are read at each planned frame, so a
keyframed box follows a moving subject; each frame's prompt is part of its cache key.
"""
import os
from typing import Callable, Iterator, List, Optional, Tuple

import bpy

from . import cache_place, core_runtime, prompt_place
from .properties import box_of
from .alphalift_client import AlphaLiftClient, AlphaLiftClientError
from .frames import FrameJob, MatteCache, Step, file_number, frame_jobs, sequence_steps, with_prompt
from .node_group import fresh_compositor, is_alphalift_node

_client: Optional[AlphaLiftClient] = None


class Problem(Exception):
    """A message for self.report: what is wrong and what to do."""


def client() -> AlphaLiftClient:
    """One worker per Blender session: the model loads once. The core `install.py core` set up,
    else the one bundled in the extension on Blender's own Python (core_runtime.py); a missing
    model is fetched only while Blender's Allow Online Access is on."""
    global _client
    if _client is None:
        _client = core_runtime.make_client(lambda: bool(bpy.app.online_access))
    return _client


def worker_defaults() -> dict:
    """The default model and its licence as the worker reported them; {} before any worker ran."""
    return _client.defaults if _client is not None else {}


def close_client() -> None:
    global _client
    if _client is not None:
        _client.close()
        _client = None


def alphalift_nodes() -> Iterator:
    """Every AlphaLift node of this file: in node groups (5.x compositors among them) and in 4.x
    scenes' own compositor trees."""
    trees = [group for group in bpy.data.node_groups if group.bl_idname == "CompositorNodeTree"]
    trees += [scene.node_tree for scene in bpy.data.scenes if getattr(scene, "node_tree", None)]
    for tree in trees:
        yield from (node for node in tree.nodes if is_alphalift_node(node))


def claim_cache(node) -> str:
    """The node's own cache folder, after giving it a new id if its id is not its own any more."""
    settings = node.alphalift
    others = {other.alphalift.cache_id for other in alphalift_nodes()
              if other.as_pointer() != node.as_pointer()}
    if not cache_place.keeps_id(settings.cache_id, settings.cache_owner, bpy.data.filepath, others):
        settings.cache_id = cache_place.new_id()
        settings.cache_owner = cache_place.file_key(bpy.data.filepath)
    try:
        return cache_folder(node)
    except OSError as exc:
        raise Problem(f"AlphaLift cannot use its cache folder ({exc}); check that folder's "
                      "permissions.") from None


def cache_folder(node) -> str:
    """Where the node's mattes are (alphalift_cache/<id> beside the .blend, else the user's own)."""
    return cache_place.cache_folder(bpy.data.filepath, node.alphalift.cache_id)


def source_image_node(node):
    links = node.inputs[0].links
    if not links or links[0].from_node.bl_idname != "CompositorNodeImage" or links[0].from_node.image is None:
        raise Problem("Connect an Image node holding a still or an image sequence to the AlphaLift "
                      "node's Image input.")
    return links[0].from_node


def plan(scene, node) -> Tuple[List[FrameJob], dict]:
    """The planned frames of the node's source, and the options their mattes depend on."""
    image_node = source_image_node(node)
    image = image_node.image
    if image.source not in ("FILE", "SEQUENCE", "MOVIE") or image.packed_file is not None:
        raise Problem(f"\u201c{image.name}\u201d is not a file on disk (generated or packed): save or "
                      "unpack it first, or use Image > Remove Background in the Image Editor.")
    path = bpy.path.abspath(image.filepath, library=image.library)
    settings = node.alphalift
    kind = {"FILE": "STILL"}.get(image.source, image.source)
    numbers = [1]
    if kind != "STILL":
        first, last = ((scene.frame_start, scene.frame_end) if settings.use_scene_range
                       else (settings.frame_start, settings.frame_end))
        numbers = [file_number(f, image_node.frame_start, image_node.frame_offset)
                   for f in range(first, last + 1)]
    jobs = frame_jobs(path, kind, [n for n in numbers if n >= 1], claim_cache(node), settings.decontaminate)
    options = settings.options(moving=kind != "STILL")
    if kind == "MOVIE":
        if not os.path.isfile(path):
            raise Problem(f"The movie {path} is missing.")
        jobs = [job for job in jobs if job.number <= image_node.frame_duration]
        jobs = add_prompts(scene, image_node, node, jobs)
        read_movie_frames(image_node, jobs, options)
        return jobs, options
    present = [job for job in jobs if os.path.isfile(job.source)]
    if not present:
        raise Problem(f"No source file found for these frames (first looked for {jobs[0].source}).")
    return add_prompts(scene, image_node, node, present), options


def add_prompts(scene, image_node, node, jobs: List[FrameJob]) -> List[FrameJob]:
    """``jobs`` with the node's box and points in pixels, read at each job's frame (the scene is
    set to that frame, so keyframed values are evaluated, then put back); a still takes the
    current frame's."""
    if not jobs or (not node.alphalift_use_box and node.alphalift.mask is None):
        return jobs
    width, height = source_size(image_node.image, jobs[0])
    if image_node.image.source == "FILE":
        return [with_prompt(job, node_prompt(node, width, height)) for job in jobs]
    current = (scene.frame_current, scene.frame_subframe)
    prompted = []
    try:
        for job in jobs:
            scene.frame_set(job.number + image_node.frame_start - 1 - image_node.frame_offset)
            prompted.append(with_prompt(job, node_prompt(node, width, height, scene.frame_current)))
    finally:
        scene.frame_set(current[0], subframe=current[1])
    return prompted


def node_prompt(node, width: int, height: int, frame: Optional[int] = None) -> Optional[dict]:
    try:
        return prompt_place.prompt_of(box_of(node, "alphalift_"), node.alphalift.mask, width, height)
    except ValueError as exc:
        raise Problem(str(exc) if frame is None else f"Frame {frame}: {exc}") from None


def source_size(image, job: FrameJob) -> Tuple[int, int]:
    """The source's size in pixels: the Image's, or (a sequence away from its frames) the first
    planned frame's file's."""
    width, height = image.size
    if width and height:
        return width, height
    try:
        probe = bpy.data.images.load(job.origin or job.source, check_existing=False)
    except RuntimeError:  # Blender cannot open it
        probe = None
    if probe is not None:
        width, height = probe.size
        bpy.data.images.remove(probe)
    if probe is None or not (width and height):
        raise Problem(f"Blender cannot read {job.source}, so the AlphaLift box and points cannot be "
                      "placed on it; check that the file is an image.")
    return width, height


def read_movie_frames(image_node, jobs: List[FrameJob], options: dict) -> None:
    """Write the stale movie frames as PNGs with Blender's own decoder: a scratch scene renders just
    the Image node at each frame (sRGB, Standard view), then goes away."""
    cache = MatteCache(os.path.dirname(jobs[0].mask))
    todo = [job for job in jobs if not cache.is_fresh(job, options)]
    if not todo:
        return
    os.makedirs(cache.folder, exist_ok=True)
    scratch = bpy.data.scenes.new("AlphaLift frame reader")
    try:
        render = scratch.render
        render.resolution_x, render.resolution_y = image_node.image.size
        render.resolution_percentage = 100
        render.image_settings.file_format = "PNG"
        render.image_settings.color_mode = "RGB"
        render.image_settings.color_depth = "8"
        render.use_compositing, render.use_sequencer = True, False
        scratch.view_settings.view_transform = "Standard"
        tree, output = fresh_compositor(scratch)
        reader = tree.nodes.new("CompositorNodeImage")
        reader.image = image_node.image
        for attribute in ("frame_start", "frame_offset", "frame_duration"):
            setattr(reader, attribute, getattr(image_node, attribute))
        tree.links.new(reader.outputs[0], output.inputs[0])
        with bpy.context.temp_override(scene=scratch):  # the compositor reads the context's frame
            for job in todo:
                scratch.frame_set(job.number + image_node.frame_start - 1 - image_node.frame_offset)
                render.filepath = job.source
                bpy.ops.render.render(write_still=True)
    finally:
        group = getattr(scratch, "compositing_node_group", None)
        bpy.data.scenes.remove(scratch)
        if group is not None:
            bpy.data.node_groups.remove(group)


def compute(jobs: List[FrameJob], options: dict, cancelled: Callable[[], bool],
            progress: Callable[[float], None], session: str = "") -> int:
    """Run the stale frames in the worker; returns how many were computed. With temporal
    smoothing on, as frames of the shot ``session`` (the node's cache id). Safe off the main
    thread (touches no bpy data)."""
    cache = MatteCache(os.path.dirname(jobs[0].mask))
    stale = [job for job in jobs if not cache.is_fresh(job, options)]
    temporal = bool(options.get("temporal")) and bool(session)
    steps = sequence_steps(jobs, stale) if temporal else [Step(job, False, False) for job in stale]
    os.makedirs(cache.folder, exist_ok=True)
    for index, step in enumerate(steps):
        if cancelled():
            break
        job = step.job
        save = {}
        if not step.warm_up:
            save["mask"] = job.mask
            if job.foreground:
                save["foreground"] = job.foreground
        sequence = {"id": session, "frame": job.number, "start": step.start} if temporal else None
        try:
            client().remove_file(job.source, save, model=options["model"] or None, refine=options["refine"],
                                 on_progress=lambda f, _s, i=index: progress((i + f) / len(steps)),
                                 overwrite=True,  # the node's own cache: a stale matte is replaced
                                 sequence=sequence, prompt=job.prompt)
        except AlphaLiftClientError as exc:
            if exc.code == "video-support-missing":
                raise AlphaLiftClientError(
                    "Temporal Smoothing needs AlphaLift's video extra (OpenCV), which this core lacks: "
                    "turn Temporal Smoothing off, or set up the core with `python3 installers/install.py "
                    "blender`, which includes it.", exc.code) from None
            raise
        if not step.warm_up:
            cache.record(job, options)
    return len(stale)


def load_sequence(image, name: str, path: str, is_sequence: bool, non_color: bool):
    """``image`` (the one the Image node holds) if it shows ``path``, else a new image of it: images
    are looked up by node, not by name, which nodes of other scenes share. Relative to a saved
    .blend, so the mattes move with the project."""
    path = os.path.normpath(path)
    if image is None or os.path.normpath(bpy.path.abspath(image.filepath, library=image.library)) != path:
        image = bpy.data.images.load(path, check_existing=False)
        image.name = name
        if bpy.data.filepath:
            image.filepath = bpy.path.relpath(path)
    image.source = "SEQUENCE" if is_sequence else "FILE"
    if non_color:
        image.colorspace_settings.name = "Non-Color"
    image.reload()
    return image


def wire_outputs(tree, node, jobs: List[FrameJob]) -> None:
    """Image nodes holding the mattes (and colours), mapped to frames like the source node."""
    source = source_image_node(node)
    is_sequence = source.image.source in ("SEQUENCE", "MOVIE")
    wanted = [("Matte", jobs[0].mask, True)]
    if jobs[0].foreground:
        wanted.append(("Foreground", jobs[0].foreground, False))
    for row, (socket, path, non_color) in enumerate(wanted):
        label = f"{node.name} {socket}"
        image_node = tree.nodes.get(label) or tree.nodes.new("CompositorNodeImage")
        image_node.name = image_node.label = label
        image_node.image = load_sequence(image_node.image, label, path, is_sequence, non_color)
        for attribute in ("frame_start", "frame_offset", "frame_duration", "use_cyclic"):
            if hasattr(source, attribute):
                setattr(image_node, attribute, getattr(source, attribute))
        image_node.location = (node.location.x - 260, node.location.y - 180 - 200 * row)
        tree.links.new(image_node.outputs[0], node.inputs[socket])
