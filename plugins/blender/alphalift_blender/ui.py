"""Where the user finds AlphaLift: the compositor's Add menu, the node's sidebar panel, and
Image > Remove Background in the Image Editor."""
import bpy

from .matte_job import worker_defaults
from .node_group import is_alphalift_node


def default_model_caption(defaults: dict) -> str:
    """The worker's default model and its licence, once a worker has answered (a panel never waits)."""
    if not defaults:
        return "Default model: shown after the first Compute Matte"
    return f"Default model: {defaults.get('model')} ({defaults.get('licence')})"


class ALPHALIFT_PT_node(bpy.types.Panel):
    bl_space_type = "NODE_EDITOR"
    bl_region_type = "UI"
    bl_category = "Node"
    bl_label = "AlphaLift"

    @classmethod
    def poll(cls, context):
        space = context.space_data
        return space.tree_type == "CompositorNodeTree" and is_alphalift_node(context.active_node)

    def draw(self, context):
        node = context.active_node
        settings = node.alphalift
        layout = self.layout
        layout.prop(settings, "model")
        layout.prop(settings, "refine")
        layout.prop(settings, "decontaminate")
        layout.prop(settings, "temporal")
        layout.prop(node, "alphalift_use_box")
        box = layout.column(align=True)
        box.active = node.alphalift_use_box
        row = box.row(align=True)
        row.prop(node, "alphalift_box_x")
        row.prop(node, "alphalift_box_y")
        row = box.row(align=True)
        row.prop(node, "alphalift_box_width")
        row.prop(node, "alphalift_box_height")
        layout.prop(settings, "mask")
        if settings.mask is not None:
            layout.label(text="Points: its layers named include and exclude")
        layout.prop(settings, "use_scene_range")
        if not settings.use_scene_range:
            row = layout.row(align=True)
            row.prop(settings, "frame_start")
            row.prop(settings, "frame_end")
        layout.operator("alphalift.compute_matte", icon="IMAGE_ALPHA").node_name = node.name
        layout.label(text=default_model_caption(worker_defaults()))


def draw_add_menu(self, context):
    if getattr(context.space_data, "tree_type", "") == "CompositorNodeTree":
        self.layout.separator()
        self.layout.operator("alphalift.add_node", icon="IMAGE_ALPHA")


def draw_image_menu(self, context):
    self.layout.separator()
    self.layout.operator("alphalift.image_remove_background", icon="IMAGE_ALPHA")
