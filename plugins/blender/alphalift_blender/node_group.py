"""The "AlphaLift Remove Background" compositor node group, built from Blender's own nodes.

Inputs Image, Matte (the matte image AlphaLift computes), Foreground (its decontaminated colours);
outputs Image (the source with the matte as alpha), Matte, and Foreground with the matte. Set Alpha's
default "Apply Mask" mode suits the compositor's premultiplied pixels.
"""
import bpy

GROUP_NAME = "AlphaLift Remove Background"
SOCKETS = (("Image", "NodeSocketColor"), ("Matte", "NodeSocketFloat"), ("Foreground", "NodeSocketColor"))


def ensure_group() -> bpy.types.NodeTree:
    group = bpy.data.node_groups.get(GROUP_NAME)
    if group is not None:
        return group
    group = bpy.data.node_groups.new(GROUP_NAME, "CompositorNodeTree")
    for in_out in ("INPUT", "OUTPUT"):
        for name, socket_type in SOCKETS:
            group.interface.new_socket(name, in_out=in_out, socket_type=socket_type)
    matte_input = next(i for i in group.interface.items_tree if i.name == "Matte" and i.in_out == "INPUT")
    matte_input.default_value, matte_input.min_value, matte_input.max_value = 1.0, 0.0, 1.0
    inputs, outputs = group.nodes.new("NodeGroupInput"), group.nodes.new("NodeGroupOutput")
    inputs.location, outputs.location = (-300, 0), (300, 0)
    for index, name in ((0, "Image"), (2, "Foreground")):
        set_alpha = group.nodes.new("CompositorNodeSetAlpha")
        set_alpha.label, set_alpha.location = f"{name} with matte", (0, 150 - 150 * index)
        group.links.new(inputs.outputs[index], set_alpha.inputs[0])
        group.links.new(inputs.outputs[1], set_alpha.inputs[1])
        group.links.new(set_alpha.outputs[0], outputs.inputs[index])
    group.links.new(inputs.outputs[1], outputs.inputs[1])
    return group


def is_alphalift_node(node) -> bool:
    return (node is not None and node.bl_idname == "CompositorNodeGroup"
            and node.node_tree is not None and node.node_tree.name.startswith(GROUP_NAME))


def scene_compositor(scene) -> bpy.types.NodeTree:
    """The scene's compositor tree, created if missing (5.x: a node group; 4.x: scene.node_tree)."""
    if hasattr(scene, "compositing_node_group"):
        if scene.compositing_node_group is None:
            tree = bpy.data.node_groups.new("Compositor", "CompositorNodeTree")
            tree.interface.new_socket("Image", in_out="OUTPUT", socket_type="NodeSocketColor")
            scene.compositing_node_group = tree
        return scene.compositing_node_group
    scene.use_nodes = True
    return scene.node_tree


def fresh_compositor(scene):
    """The scene's compositor emptied, with only its output node (5.x Group Output, 4.x Composite
    keeping alpha): a new 4.x scene would otherwise render its Render Layers."""
    tree = scene_compositor(scene)
    tree.nodes.clear()
    if hasattr(scene, "compositing_node_group"):
        return tree, tree.nodes.new("NodeGroupOutput")
    output = tree.nodes.new("CompositorNodeComposite")
    output.use_alpha = True
    return tree, output
