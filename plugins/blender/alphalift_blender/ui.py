"""Where the user finds AlphaLift: the compositor's Add menu, the node's sidebar panel, and
Image > Remove Background in the Image Editor."""
import bpy

from .node_group import is_alphalift_node


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
        layout.prop(settings, "use_scene_range")
        if not settings.use_scene_range:
            row = layout.row(align=True)
            row.prop(settings, "frame_start")
            row.prop(settings, "frame_end")
        layout.operator("alphalift.compute_matte", icon="IMAGE_ALPHA").node_name = node.name
        layout.label(text="Default model: ISNet by IMG.LY, AGPL-3.0")


def draw_add_menu(self, context):
    if getattr(context.space_data, "tree_type", "") == "CompositorNodeTree":
        self.layout.separator()
        self.layout.operator("alphalift.add_node", icon="IMAGE_ALPHA")


def draw_image_menu(self, context):
    self.layout.separator()
    self.layout.operator("alphalift.image_remove_background", icon="IMAGE_ALPHA")
