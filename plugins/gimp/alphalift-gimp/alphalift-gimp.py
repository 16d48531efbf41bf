#!/usr/bin/env python3
"""AlphaLift for GIMP 3: Filters > AlphaLift > Remove Background / Select Subject.

Remove Background adds a layer mask (the layer's pixels stay untouched) or, with Decontaminate,
a new layer holding the subject's clean colours under the same mask. Select Subject replaces the
selection with the matte. Both take the prompt from what GIMP users draw (prompt_logic.py): the
selection's bounds as the box, the anchors of "AlphaLift include/exclude" paths as points. The
cut-out itself runs in AlphaLift's worker (the core's own Python), reached through the stdlib
client beside this file. Every action is one undo step; on any error the image is left as it was
and GIMP shows the message.
"""
import os
import sys

import gi

gi.require_version("Gimp", "3.0")
gi.require_version("GimpUi", "3.0")
gi.require_version("Gegl", "0.4")
from gi.repository import Gegl, Gimp, GimpUi, GLib, GObject  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from alphalift_client import AlphaLiftClient, AlphaLiftClientError, make_prompt  # noqa: E402
from matte_logic import float_encoding_for, model_caption, visible_part  # noqa: E402
from prompt_logic import (EXCLUDE_PATH, INCLUDE_PATH, PromptSourceError,  # noqa: E402
                          bezier_anchors, layer_points, selection_box)

REMOVE = "plug-in-alphalift-remove-background"
SELECT = "plug-in-alphalift-select-subject"
READ_FORMAT = "R'G'B'A u8"  # what the model was trained on; high bit depths are read through it


class Cancelled(Exception):
    pass


def babl_encoding(drawable) -> str:
    gi.require_version("Babl", "0.1")
    from gi.repository import Babl

    return Babl.format_get_encoding(drawable.get_format())


def read_pixels(drawable) -> bytes:
    rect = Gegl.Rectangle.new(0, 0, drawable.get_width(), drawable.get_height())
    return bytes(drawable.get_buffer().get(rect, 1.0, READ_FORMAT, Gegl.AbyssPolicy.CLAMP))


def write_pixels(drawable, data: bytes, encoding: str) -> None:
    rect = Gegl.Rectangle.new(0, 0, drawable.get_width(), drawable.get_height())
    buffer = drawable.get_buffer()
    buffer.set(rect, encoding, data)
    buffer.flush()
    drawable.update(0, 0, drawable.get_width(), drawable.get_height())


def drawn_prompt(image, layer, config):
    """The prompt the user drew, in the layer's pixels: the selection's bounds as the box, the
    anchors of "AlphaLift include/exclude" paths as points (each as its argument allows)."""
    offsets = tuple(layer.get_offsets()[1:])
    size = (layer.get_width(), layer.get_height())
    box, include, exclude = None, [], []
    if config.get_property("use-selection-as-box") and selection_limited(image):
        box = selection_box(tuple(Gimp.Selection.bounds(image)[-4:]), offsets, size, layer.get_name())
    if config.get_property("use-point-paths"):
        paths = [(path.get_name(), [anchor for stroke in path.get_strokes()
                                    for anchor in bezier_anchors(path.stroke_get_points(stroke)[1])])
                 for path in image.get_paths()]
        include, exclude = layer_points(paths, offsets, size, layer.get_name())
    return make_prompt(box, include, exclude)


def compute_matte(layer, config, alpha_format: str, foreground: bool, prompt=None):
    """Ask the worker for the layer's matte; shows progress; changes nothing in the image."""
    model = config.get_property("model") or None
    with AlphaLiftClient(shared=True) as client:  # one worker for every call: the model stays loaded
        # The worker names the model and its licence; the plug-in restates neither.
        Gimp.progress_init("AlphaLift: finding the subject with " + model_caption(client.models, model))
        result = client.remove(read_pixels(layer), layer.get_width(), layer.get_height(), "RGBA8",
                               model=model, refine=config.get_property("refine"),
                               foreground=foreground, alpha_format=alpha_format,
                               foreground_format="RGBA8", prompt=prompt,
                               on_progress=lambda fraction, stage: Gimp.progress_update(fraction))
    Gimp.progress_end()
    return result


def selection_limited(image) -> bool:
    return not Gimp.Selection.is_empty(image)


def keep_outside_selection(image, mask) -> None:
    """Outside a (soft) selection the matte does not apply: the mask goes back to opaque."""
    saved = Gimp.Selection.save(image)
    Gimp.Selection.invert(image)
    mask.edit_fill(Gimp.FillType.WHITE)
    image.select_item(Gimp.ChannelOps.REPLACE, saved)
    image.remove_channel(saved)


def ask_replace_mask(layer) -> bool:
    from gi.repository import Gtk

    GimpUi.init("alphalift-gimp")
    dialog = Gtk.MessageDialog(message_type=Gtk.MessageType.QUESTION,
                               buttons=Gtk.ButtonsType.YES_NO,
                               text=f"Layer “{layer.get_name()}” already has a mask. Replace it?")
    answer = dialog.run()
    dialog.destroy()
    return answer == Gtk.ResponseType.YES


def remove_background(image, layer, config, run_mode) -> None:
    decontaminate = config.get_property("decontaminate")
    if layer.get_mask() is not None and not decontaminate and not config.get_property("replace-mask"):
        if run_mode != Gimp.RunMode.INTERACTIVE:
            raise AlphaLiftClientError(f"Layer “{layer.get_name()}” already has a mask. Run again "
                                       "with replace-mask=TRUE to replace it.", "mask-exists")
        if not ask_replace_mask(layer):
            raise Cancelled()
    # Everything that can fail happens before the image is touched.
    result = compute_matte(layer, config, "F32", foreground=decontaminate,
                           prompt=drawn_prompt(image, layer, config))
    image.undo_group_start()
    try:
        if decontaminate:
            target = Gimp.Layer.new(image, f"{layer.get_name()} (AlphaLift)", layer.get_width(),
                                    layer.get_height(), Gimp.ImageType.RGBA_IMAGE, 100.0,
                                    Gimp.LayerMode.NORMAL)
            image.insert_layer(target, layer.get_parent(), image.get_item_position(layer))
            target.set_offsets(*layer.get_offsets()[1:])
            write_pixels(target, result.foreground, "R'G'B'A u8")
        else:
            target = layer
            if layer.get_mask() is not None:
                layer.remove_mask(Gimp.MaskApplyMode.DISCARD)
            if not layer.has_alpha():
                layer.add_alpha()
        mask = target.create_mask(Gimp.AddMaskType.WHITE)
        target.add_mask(mask)
        write_pixels(mask, result.alpha, float_encoding_for(babl_encoding(mask)))
        if selection_limited(image):
            keep_outside_selection(image, mask)
    finally:
        image.undo_group_end()


def select_subject(image, layer, config) -> None:
    result = compute_matte(layer, config, "F32", foreground=False,
                           prompt=drawn_prompt(image, layer, config))
    image.undo_group_start()
    try:
        channel = Gimp.Channel.new(image, "AlphaLift matte", image.get_width(), image.get_height(),
                                   100.0, Gegl.Color.new("black"))
        image.insert_channel(channel, None, 0)
        offset_x, offset_y = layer.get_offsets()[1:]
        visible = visible_part(result.alpha, 4, layer.get_width(), layer.get_height(),
                               offset_x, offset_y, image.get_width(), image.get_height())
        if visible is not None:
            x, y, width, height, data = visible
            target = channel.get_buffer()
            target.set(Gegl.Rectangle.new(x, y, width, height),
                       float_encoding_for(babl_encoding(channel)), data)
            target.flush()
        channel.update(0, 0, image.get_width(), image.get_height())
        image.select_item(Gimp.ChannelOps.REPLACE, channel)
        image.remove_channel(channel)
    finally:
        image.undo_group_end()


class AlphaLiftPlugIn(Gimp.PlugIn):
    def do_query_procedures(self):
        return [REMOVE, SELECT]

    def do_set_i18n(self, name):
        return False

    def do_create_procedure(self, name):
        procedure = Gimp.ImageProcedure.new(self, name, Gimp.PDBProcType.PLUGIN, self.run, None)
        procedure.set_image_types("RGB*, GRAY*")
        procedure.set_sensitivity_mask(Gimp.ProcedureSensitivityMask.DRAWABLE)
        procedure.set_attribution("AlphaLift developers", "GPL-3.0-or-later", "2026")
        flags = GObject.ParamFlags.READWRITE
        if name == REMOVE:
            procedure.set_menu_label("Remove Background…")
            procedure.add_menu_path("<Image>/Filters/AlphaLift")
            procedure.set_documentation(
                "Mask out the background of the active layer",
                "Adds a layer mask from AlphaLift's matte; the layer's pixels are untouched. "
                "Inside a selection only, and the selection's bounds tell the model where the "
                "subject is. Anchors of paths named “AlphaLift include” / “AlphaLift exclude” "
                "mark subject / background. Decontaminate puts the subject's clean colours in a "
                "new layer instead. The model in use and its licence show in the progress bar; "
                "`alphalift models list` lists them all.", name)
        else:
            procedure.set_menu_label("Select Subject")
            procedure.add_menu_path("<Image>/Filters/AlphaLift")
            procedure.set_documentation("Select the subject of the active layer",
                                        "Replaces the selection with AlphaLift's (soft) matte, "
                                        "of the subject within the selection's bounds if there "
                                        "is a selection. Anchors of paths named “AlphaLift "
                                        "include” / “AlphaLift exclude” mark subject / "
                                        "background.", name)
        procedure.add_string_argument("model", "Model", "Model name (empty: the default; "
                                      "`alphalift models list` gives each one's licence)", "", flags)
        procedure.add_boolean_argument("refine", "Refine edges",
                                       "Alpha matting at the edges (hair, fur)", True, flags)
        if name == REMOVE:
            procedure.add_boolean_argument("decontaminate", "Decontaminate colours",
                                           "Put the subject's clean colours in a new masked layer",
                                           False, flags)
            procedure.add_boolean_argument("replace-mask", "Replace an existing mask",
                                           "Replace the layer's mask without asking", False, flags)
        procedure.add_boolean_argument("use-selection-as-box", "Selection bounds are the box",
                                       "The subject lies within the selection's bounds: the model "
                                       "looks only there, nothing outside is subject", True, flags)
        procedure.add_boolean_argument("use-point-paths", f"Points from “{INCLUDE_PATH}” / "
                                       f"“{EXCLUDE_PATH}” paths",
                                       f"Each anchor of a path named “{INCLUDE_PATH}” marks subject, "
                                       f"of one named “{EXCLUDE_PATH}” background (draw them with "
                                       "the Paths tool, one click an anchor)", True, flags)
        return procedure

    def run(self, procedure, run_mode, image, drawables, config, data):
        if len(drawables) != 1 or not isinstance(drawables[0], Gimp.Layer):
            return self.fail(procedure, "Select exactly one layer.")
        layer = drawables[0]
        if layer.is_group():
            return self.fail(procedure, "AlphaLift works on a pixel layer, not a layer group.")
        if run_mode == Gimp.RunMode.INTERACTIVE:
            GimpUi.init("alphalift-gimp")
            dialog = GimpUi.ProcedureDialog.new(procedure, config, "AlphaLift")
            dialog.fill(None)
            accepted = dialog.run()
            dialog.destroy()
            if not accepted:
                return procedure.new_return_values(Gimp.PDBStatusType.CANCEL, GLib.Error())
        try:
            if procedure.get_name() == REMOVE:
                remove_background(image, layer, config, run_mode)
            else:
                select_subject(image, layer, config)
        except Cancelled:
            return procedure.new_return_values(Gimp.PDBStatusType.CANCEL, GLib.Error())
        except (AlphaLiftClientError, PromptSourceError) as exc:
            return self.fail(procedure, str(exc))
        Gimp.displays_flush()
        return procedure.new_return_values(Gimp.PDBStatusType.SUCCESS, GLib.Error())

    @staticmethod
    def fail(procedure, message):
        Gimp.progress_end()
        error = GLib.Error.new_literal(Gimp.PlugIn.error_quark(), "AlphaLift: " + message, 0)
        return procedure.new_return_values(Gimp.PDBStatusType.EXECUTION_ERROR, error)


Gimp.main(AlphaLiftPlugIn.__gtype__, sys.argv)
