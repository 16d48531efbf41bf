"""Per-node options, shown on the node's sidebar panel and kept in the .blend."""
import bpy


class AlphaLiftNodeSettings(bpy.types.PropertyGroup):
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
