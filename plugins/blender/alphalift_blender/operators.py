"""Operators: add the node, Compute Matte (modal with progress and Esc; synchronous in background
mode), and the Image Editor's Remove Background (with a box and a Mask's points, as the node)."""
import threading

import bpy
import numpy as np

from .alphalift_client import AlphaLiftClientError
from .core_runtime import explain
from .matte_job import Problem, client, compute, plan, wire_outputs
from .node_group import GROUP_NAME, ensure_group, is_alphalift_node, scene_compositor
from .prompt_place import ROLES, prompt_of
from .properties import BOX, box_of


def compositor_tree(context):
    space = getattr(context, "space_data", None)
    if space is not None and getattr(space, "type", "") == "NODE_EDITOR" and space.edit_tree is not None:
        return space.edit_tree
    return scene_compositor(context.scene)


class ALPHALIFT_OT_add_node(bpy.types.Operator):
    """Add the AlphaLift Remove Background node group"""
    bl_idname = "alphalift.add_node"
    bl_label = "AlphaLift Remove Background"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context):
        tree = compositor_tree(context)
        for other in tree.nodes:
            other.select = False
        node = tree.nodes.new("CompositorNodeGroup")
        node.node_tree = ensure_group()
        node.name = node.label = GROUP_NAME
        node.select = True
        tree.nodes.active = node
        space = getattr(context, "space_data", None)
        if space is not None and getattr(space, "type", "") == "NODE_EDITOR":
            node.location = space.cursor_location
        return {"FINISHED"}


class ALPHALIFT_OT_compute_matte(bpy.types.Operator):
    """Compute the AlphaLift matte of this node's source (each stale frame of a sequence or movie)"""
    bl_idname = "alphalift.compute_matte"
    bl_label = "Compute Matte"
    bl_options = {"REGISTER"}

    node_name: bpy.props.StringProperty(name="Node", description="The AlphaLift node (default: the active one)")

    def find_node(self, context):
        tree = compositor_tree(context)
        node = tree.nodes.get(self.node_name) if self.node_name else tree.nodes.active
        if not is_alphalift_node(node):
            raise Problem("Select an AlphaLift Remove Background node first.")
        return tree, node

    def prepare(self, context) -> bool:
        try:
            self.tree, self.node = self.find_node(context)
            self.jobs, self.node_options = plan(context.scene, self.node)
        except Problem as problem:
            self.report({"ERROR"}, str(problem))
            return False
        self.session = self.node.alphalift.cache_id  # the worker's sequence session for this node
        self.fraction, self.error, self.computed, self.stop = 0.0, None, 0, False
        return True

    def work(self) -> None:
        try:
            self.computed = compute(self.jobs, self.node_options, lambda: self.stop,
                                    lambda fraction: setattr(self, "fraction", fraction), self.session)
        except AlphaLiftClientError as exc:
            if exc.code == "cancelled":  # the worker stopped the frame it was on (Esc)
                self.stop = True
            else:
                self.error = explain(exc, bpy.app.online_access)
        except OSError as exc:
            self.error = str(exc)

    def finish(self, context):
        if self.error:
            self.report({"ERROR"}, self.error)
            return {"CANCELLED"}
        if self.stop:
            self.report({"WARNING"}, "Cancelled; frames already computed are kept.")
            return {"CANCELLED"}
        wire_outputs(self.tree, self.node, self.jobs)
        fresh = len(self.jobs) - self.computed
        self.report({"INFO"}, f"AlphaLift: {self.computed} frame(s) computed, {fresh} already up to date.")
        return {"FINISHED"}

    def execute(self, context):  # scripts and background mode: run to the end
        if not self.prepare(context):
            return {"CANCELLED"}
        self.work()
        return self.finish(context)

    def invoke(self, context, event):
        if bpy.app.background or context.window is None:
            return self.execute(context)
        if not self.prepare(context):
            return {"CANCELLED"}
        self.thread = threading.Thread(target=self.work, daemon=True)
        self.thread.start()
        manager = context.window_manager
        self.timer = manager.event_timer_add(0.2, window=context.window)
        manager.progress_begin(0, 100)
        manager.modal_handler_add(self)
        return {"RUNNING_MODAL"}

    def modal(self, context, event):
        if event.type == "ESC" and not self.stop:
            self.stop = True
            client().cancel()
        if event.type != "TIMER":
            return {"RUNNING_MODAL"}
        context.window_manager.progress_update(int(self.fraction * 100))
        context.workspace.status_text_set(f"AlphaLift: computing mattes {self.fraction:.0%} (Esc cancels)")
        if self.thread.is_alive():
            return {"RUNNING_MODAL"}
        context.window_manager.event_timer_remove(self.timer)
        context.window_manager.progress_end()
        context.workspace.status_text_set(None)
        return self.finish(context)


class ALPHALIFT_OT_image_remove_background(bpy.types.Operator):
    """Cut out the subject of this image into a new image (decontaminated colours, matte as alpha)"""
    bl_idname = "alphalift.image_remove_background"
    bl_label = "Remove Background"
    bl_options = {"REGISTER", "UNDO"}

    refine: bpy.props.BoolProperty(name="Refine Edges", default=True)
    model: bpy.props.StringProperty(name="Model", default="")
    image_name: bpy.props.StringProperty(name="Image", default="",
                                         description="The image to cut out (default: the editor's)")
    use_box: BOX["use_box"]
    box_x: BOX["box_x"]
    box_y: BOX["box_y"]
    box_width: BOX["box_width"]
    box_height: BOX["box_height"]
    mask_name: bpy.props.StringProperty(
        name="Points", default="",
        description="A Mask whose layers named include and exclude hold points on the subject and off it "
                    "(default: the Mask the editor shows, when it has such layers)")

    def prompt_mask(self, space):
        """The Mask named, else the editor's own when it holds include or exclude layers."""
        if self.mask_name:
            mask = bpy.data.masks.get(self.mask_name)
            if mask is None:
                raise ValueError(f"No Mask named “{self.mask_name}”; give the name of one, or "
                                 "none to use the editor's.")
            return mask
        mask = getattr(space, "mask", None)
        if mask is not None and any(layer.name.strip().lower() in ROLES for layer in mask.layers):
            return mask
        return None

    @classmethod
    def poll(cls, context):
        space = getattr(context, "space_data", None)
        return space is None or getattr(space, "image", None) is not None  # no space: a script

    def execute(self, context):
        space = getattr(context, "space_data", None)
        image = bpy.data.images.get(self.image_name) if self.image_name else getattr(space, "image", None)
        if image is None:
            self.report({"ERROR"}, f"No image named “{self.image_name}”." if self.image_name
                        else "Open an image in the Image Editor first.")
            return {"CANCELLED"}
        width, height = image.size
        if width < 2 or height < 2:
            self.report({"ERROR"}, f"\u201c{image.name}\u201d has no pixels to cut out.")
            return {"CANCELLED"}
        try:  # as seen (top-left origin), though the pixels go bottom-up: the worker maps it
            prompt = prompt_of(box_of(self), self.prompt_mask(space), width, height)
        except ValueError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        pixels = np.empty(width * height * 4, np.float32)
        image.pixels.foreach_get(pixels)
        manager = context.window_manager
        manager.progress_begin(0, 100)
        try:
            # Blender's own layout both ways: rows bottom-up, float RGBA with the matte as alpha.
            result = client().remove(pixels.astype("<f4", copy=False).tobytes(), width, height,
                                     "RGBAF", model=self.model or None, refine=self.refine,
                                     foreground=True, alpha_format="F32", linear=image.is_float,
                                     flip=True, foreground_format="RGBAF", foreground_alpha="matte",
                                     prompt=prompt,
                                     on_progress=lambda f, _s: manager.progress_update(int(f * 100)))
        except AlphaLiftClientError as exc:
            self.report({"ERROR"}, explain(exc, bpy.app.online_access))
            return {"CANCELLED"}
        finally:
            manager.progress_end()
        cutout = bpy.data.images.new(f"{image.name} (AlphaLift)", width, height, alpha=True)
        cutout.pixels.foreach_set(np.frombuffer(result.foreground, "<f4"))
        cutout.update()
        if space is not None and hasattr(space, "image"):
            space.image = cutout
        self.report({"INFO"}, f"Created \u201c{cutout.name}\u201d.")
        return {"FINISHED"}
