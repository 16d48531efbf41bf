"""AlphaLift for Blender: AI background removal as a compositor node group, plus Image > Remove
Background in the Image Editor. The cut-out runs in AlphaLift's worker (the core's own Python),
reached through the stdlib client packed beside this file.
"""
bl_info = {  # legacy add-on install on Blender 4.2-4.5; extensions read blender_manifest.toml
    "name": "AlphaLift",
    "author": "AlphaLift developers",
    "version": (0, 1, 0),
    "blender": (4, 2, 0),
    "location": "Compositor > Add > AlphaLift Remove Background; Image Editor > Image",
    "description": "AI background removal with real alpha matting",
    "category": "Compositing",
}

import bpy  # noqa: E402

from . import matte_job, operators, properties, ui  # noqa: E402

CLASSES = (properties.AlphaLiftNodeSettings, operators.ALPHALIFT_OT_add_node,
           operators.ALPHALIFT_OT_compute_matte, operators.ALPHALIFT_OT_image_remove_background,
           ui.ALPHALIFT_PT_node)


def register() -> None:
    for cls in CLASSES:
        bpy.utils.register_class(cls)
    bpy.types.CompositorNodeGroup.alphalift = bpy.props.PointerProperty(type=properties.AlphaLiftNodeSettings)
    for name, prop in properties.NODE_BOX.items():  # keyframable: on the node itself
        setattr(bpy.types.CompositorNodeGroup, name, prop)
    bpy.types.NODE_MT_add.append(ui.draw_add_menu)
    bpy.types.IMAGE_MT_image.append(ui.draw_image_menu)


def unregister() -> None:
    matte_job.close_client()
    bpy.types.IMAGE_MT_image.remove(ui.draw_image_menu)
    bpy.types.NODE_MT_add.remove(ui.draw_add_menu)
    for name in properties.NODE_BOX:
        delattr(bpy.types.CompositorNodeGroup, name)
    del bpy.types.CompositorNodeGroup.alphalift
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)
