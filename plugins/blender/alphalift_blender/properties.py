"""Per-node options, shown on the node's sidebar panel and kept in the .blend.

The box lives on the node itself (alphalift_use_box, alphalift_box_x, ...), not in the settings
group: Blender keyframes only properties it can find a path to from the node tree, and a property
group's own properties on a node have none ("does not support path creation", 4.2 and 5.0).
"""
from typing import Optional, Tuple

import bpy


def box_properties() -> dict:
    """The box as Blender's Box Mask node has it (prompt_place.py), for the node (keyframable, so
    the box can follow a moving subject) and the Image Editor's operator alike."""
    return {
        "use_box": bpy.props.BoolProperty(
            name="Use Box", default=False,
            description="The subject lies in this box: nothing outside it is subject, and the model "
                        "looks at the boxed part at its full resolution. X, Y, Width and Height "
                        "are the Box Mask node's; keyframe them to follow a moving subject"),
        "box_x": bpy.props.FloatProperty(name="X", default=0.5, soft_min=0.0, soft_max=1.0, step=1,
                                         description="The box's centre, a fraction of the image's width"),
        "box_y": bpy.props.FloatProperty(name="Y", default=0.5, soft_min=0.0, soft_max=1.0, step=1,
                                         description="The box's centre, a fraction of the image's height "
                                                     "from its bottom"),
        "box_width": bpy.props.FloatProperty(name="Width", default=0.5, min=0.0, soft_max=1.0, step=1,
                                             description="A fraction of the image's width"),
        "box_height": bpy.props.FloatProperty(
            name="Height", default=0.5, min=0.0, soft_max=1.0, step=1,
            description="A fraction of the image's width too, as in the Box Mask node"),
    }


BOX = box_properties()
NODE_BOX = {f"alphalift_{name}": prop for name, prop in BOX.items()}  # on CompositorNodeGroup


def box_of(owner, prefix: str = "") -> Optional[Tuple[float, float, float, float]]:
    """Box Mask's x, y, width, height of ``owner`` (a node: prefix "alphalift_"; the Image
    Editor's operator: none), or None when its Use Box is off."""
    if not getattr(owner, prefix + "use_box"):
        return None
    return tuple(getattr(owner, f"{prefix}box_{name}") for name in ("x", "y", "width", "height"))


class AlphaLiftNodeSettings(bpy.types.PropertyGroup):
    mask: bpy.props.PointerProperty(
        type=bpy.types.Mask, name="Points",
        description="A Mask whose layers named include and exclude hold points on the subject and off "
                    "it (draw them in the Image Editor's Mask mode over the source): the region each "
                    "point falls in is added to the subject or taken away")
    model: bpy.props.StringProperty(
        name="Model", default="",
        description="Segmentation model from AlphaLift's catalogue (empty: the default, named with "
                    "its licence in this panel). `alphalift models list` shows them all")
    refine: bpy.props.BoolProperty(name="Refine Edges", default=True,
                                   description="Alpha matting for hair, fur and soft edges")
    decontaminate: bpy.props.BoolProperty(
        name="Decontaminate", default=False,
        description="Also compute the subject's clean colours (the group's Foreground output)")
    temporal: bpy.props.BoolProperty(
        name="Temporal Smoothing", default=True,
        description="Image sequences and movies: each frame's matte leans on the previous frame's, "
                    "carried along the motion, so edges stop shimmering (AlphaLift's sequence mode; "
                    "cuts and fast motion start afresh). Stills are unaffected")
    use_scene_range: bpy.props.BoolProperty(name="Scene Frame Range", default=True,
                                            description="Compute the scene's frames; else the range below")
    frame_start: bpy.props.IntProperty(name="Start", default=1, min=0)
    frame_end: bpy.props.IntProperty(name="End", default=250, min=0)
    # Whose cache folder is whose (cache_place.py): given at the first Compute Matte, replaced when
    # the node was duplicated or now lives in another file.
    cache_id: bpy.props.StringProperty(options={"HIDDEN"})
    cache_owner: bpy.props.StringProperty(options={"HIDDEN"})

    def options(self, moving: bool = False) -> dict:
        """What a matte depends on besides its source file (the cache's staleness key); for an
        image sequence or a movie (``moving``) Temporal Smoothing too."""
        options = {"model": self.model, "refine": self.refine, "decontaminate": self.decontaminate}
        if moving:
            options["temporal"] = self.temporal
        return options
