"""gimpfu on GIMP 3: run classic Python-Fu scripts with only their import line changed.

    from gimpfu_shim import *          # instead of: from gimpfu import *

    def my_filter(image, drawable, radius, colour):
        pdb.gimp_drawable_edit_fill(drawable, FILL_FOREGROUND)
    register("python-fu-my-filter", "Blurb", "Help", "Me", "Me", "2026", "<Image>/Filters/My Filter",
             "RGB*", [(PF_IMAGE, "image", "Input image", None),
                      (PF_DRAWABLE, "drawable", "Input drawable", None),
                      (PF_SLIDER, "radius", "Radius", 5, (0, 100, 1)),
                      (PF_COLOR, "colour", "Colour", (255, 0, 0))], [], my_filter)
    main()

register() records procedures; main() hands them to GIMP 3 as a Gimp.PlugIn whose arguments are
generated from the PF_* list, so they are scriptable, shown by GimpUi.ProcedureDialog and remember
their last values. `pdb.some_procedure(...)` calls GIMP's PDB; `gimp.message()` shows a message.
"""
from __future__ import annotations

import sys

import gi

gi.require_version("Gimp", "3.0")
gi.require_version("GimpUi", "3.0")
gi.require_version("Gegl", "0.4")
from gi.repository import Gegl, Gimp, GimpUi, Gio, GLib, GObject  # noqa: E402

from .params import *  # noqa: E402,F401,F403 - the PF_* names are part of the gimpfu API
from .params import (INTEGER_TYPES, PF_BOOL, PF_CHANNEL, PF_COLOR, PF_DIRNAME, PF_DRAWABLE,  # noqa: E402
                     PF_FILE, PF_FLOAT, PF_IMAGE, PF_LAYER, PF_OPTION, PF_RADIO, PF_SLIDER,
                     PF_SPINNER, PF_STRING, PF_TEXT, PF_FONT, argument_name, number_bounds,
                     option_values, split_menu)

FILL_FOREGROUND, FILL_BACKGROUND, FILL_WHITE, FILL_TRANSPARENT = (
    Gimp.FillType.FOREGROUND, Gimp.FillType.BACKGROUND, Gimp.FillType.WHITE, Gimp.FillType.TRANSPARENT)
RUN_INTERACTIVE, RUN_NONINTERACTIVE = Gimp.RunMode.INTERACTIVE, Gimp.RunMode.NONINTERACTIVE

_registry: dict = {}


class _Registration:
    def __init__(self, name, blurb, help_text, author, copyright_, date, label, imagetypes, params,
                 results, function, menu):
        self.name, self.blurb, self.help = name, blurb, help_text
        self.author, self.copyright, self.date = author, copyright_, date
        self.menu, self.label = split_menu(label, menu)
        self.imagetypes, self.params, self.results, self.function = imagetypes, params, results, function
        kinds = [p[0] for p in params]
        self.takes_image = kinds[:1] == [PF_IMAGE]
        self.takes_drawable = kinds[1:2] in ([PF_DRAWABLE], [PF_LAYER], [PF_CHANNEL])
        self.user_params = params[(1 if self.takes_image else 0) + (1 if self.takes_drawable else 0):]


def register(proc_name, blurb, help, author, copyright, date, label, imagetypes, params, results,
             function, menu=None, domain=None, on_query=None, on_run=None):  # noqa: A002 - gimpfu's names
    """Record a procedure, as gimpfu.register did."""
    name = proc_name.replace("_", "-")
    if not name.startswith(("python-fu-", "plug-in-", "script-fu-", "file-")):
        name = "python-fu-" + name
    _registry[name] = _Registration(name, blurb, help, author, copyright, date, label, imagetypes,
                                    list(params), list(results), function, menu)


def _colour(value) -> "Gegl.Color":
    Gegl.init(None)  # procedures are created before GIMP starts GEGL; colours need babl
    colour = Gegl.Color.new("black")
    if isinstance(value, str):
        return Gegl.Color.new(value)
    if value is not None:
        channels = [float(v) / (255.0 if max(value) > 1 else 1.0) for v in value]
        colour.set_rgba(*(channels + [1.0] * (4 - len(channels))))
    return colour


def _add_argument(procedure, spec) -> None:
    kind, name, description, default = spec[:4]
    extra = spec[4] if len(spec) > 4 else None
    name, flags = argument_name(name), GObject.ParamFlags.READWRITE
    if kind in INTEGER_TYPES:
        low, high = number_bounds(kind, extra)
        procedure.add_int_argument(name, description, description, int(low), int(high),
                                   int(default or 0), flags)
    elif kind in (PF_FLOAT, PF_SLIDER, PF_SPINNER):
        low, high = number_bounds(kind, extra)
        procedure.add_double_argument(name, description, description, low, high,
                                      float(default or 0), flags)
    elif kind in (PF_STRING, PF_TEXT, PF_FONT):
        procedure.add_string_argument(name, description, description, str(default or ""), flags)
    elif kind == PF_BOOL:
        procedure.add_boolean_argument(name, description, description, bool(default), flags)
    elif kind == PF_COLOR:
        procedure.add_color_argument(name, description, description, True, _colour(default), flags)
    elif kind in (PF_OPTION, PF_RADIO):
        choice = Gimp.Choice.new()
        values = option_values(kind, extra)
        for nick, index, label in values:
            choice.add(nick, index, label, "")
        index = int(default or 0) if kind == PF_OPTION else [v for _l, v in extra].index(default)
        procedure.add_choice_argument(name, description, description, choice, values[index][0], flags)
    elif kind in (PF_FILE, PF_DIRNAME):
        action = (Gimp.FileChooserAction.SELECT_FOLDER if kind == PF_DIRNAME
                  else Gimp.FileChooserAction.OPEN)
        default_file = Gio.File.new_for_path(default) if default else None
        procedure.add_file_argument(name, description, description, action, True, default_file, flags)
    elif kind in (PF_IMAGE,):
        procedure.add_image_argument(name, description, description, True, flags)
    elif kind in (PF_DRAWABLE, PF_LAYER, PF_CHANNEL):
        procedure.add_drawable_argument(name, description, description, True, flags)
    else:
        raise ValueError(f"gimpfu_shim: parameter type {kind} of {name!r} is not supported")


def _value(config, spec):
    kind, name = spec[0], argument_name(spec[1])
    value = config.get_property(name)
    if kind in (PF_OPTION, PF_RADIO):
        index = config.get_choice_id(name)
        return index if kind == PF_OPTION else spec[4][index][1]
    if kind in (PF_FILE, PF_DIRNAME):
        return value.get_path() if value is not None else ""
    return value


class _ShimPlugIn(Gimp.PlugIn):
    def do_query_procedures(self):
        return list(_registry)

    def do_set_i18n(self, name):
        return False

    def do_create_procedure(self, name):
        reg = _registry[name]
        if reg.takes_image:
            procedure = Gimp.ImageProcedure.new(self, name, Gimp.PDBProcType.PLUGIN, self._run_image, None)
            procedure.set_image_types(reg.imagetypes or "*")
            if reg.takes_drawable:
                procedure.set_sensitivity_mask(Gimp.ProcedureSensitivityMask.DRAWABLE)
        else:
            procedure = Gimp.Procedure.new(self, name, Gimp.PDBProcType.PLUGIN, self._run_plain, None)
            procedure.add_enum_argument("run-mode", "Run mode", "The run mode", Gimp.RunMode,
                                        Gimp.RunMode.NONINTERACTIVE, GObject.ParamFlags.READWRITE)
        procedure.set_menu_label(reg.label)
        if reg.menu:
            procedure.add_menu_path(reg.menu)
        procedure.set_documentation(reg.blurb, reg.help, name)
        procedure.set_attribution(reg.author, reg.copyright, reg.date)
        for spec in reg.user_params:
            _add_argument(procedure, spec)
        return procedure

    def _call(self, procedure, run_mode, config, leading):
        reg = _registry[procedure.get_name()]
        if run_mode == Gimp.RunMode.INTERACTIVE and reg.user_params:
            GimpUi.init(procedure.get_name())
            dialog = GimpUi.ProcedureDialog.new(procedure, config, reg.label)
            dialog.fill(None)
            accepted = dialog.run()
            dialog.destroy()
            if not accepted:
                return procedure.new_return_values(Gimp.PDBStatusType.CANCEL, GLib.Error())
        try:
            reg.function(*leading, *[_value(config, spec) for spec in reg.user_params])
        except Exception as exc:  # a script's error becomes GIMP's error message, not a crash
            error = GLib.Error.new_literal(Gimp.PlugIn.error_quark(), f"{reg.label}: {exc}", 0)
            return procedure.new_return_values(Gimp.PDBStatusType.EXECUTION_ERROR, error)
        Gimp.displays_flush()
        return procedure.new_return_values(Gimp.PDBStatusType.SUCCESS, GLib.Error())

    def _run_image(self, procedure, run_mode, image, drawables, config, data):
        reg = _registry[procedure.get_name()]
        leading = [image]
        if reg.takes_drawable:
            leading.append(drawables[0] if drawables else None)
        return self._call(procedure, run_mode, config, leading)

    def _run_plain(self, procedure, config, data):
        return self._call(procedure, config.get_property("run-mode"), config, [])


def main() -> None:
    """Hand every register()ed procedure to GIMP, as gimpfu.main did."""
    Gimp.main(_ShimPlugIn.__gtype__, sys.argv)


class _Pdb:
    """pdb.gimp_drawable_edit_fill(d, FILL_WHITE) -> the PDB procedure gimp-drawable-edit-fill."""

    def __getattr__(self, attribute):
        name = attribute.replace("_", "-")
        procedure = Gimp.get_pdb().lookup_procedure(name)
        if procedure is None:
            raise AttributeError(f"pdb has no procedure {name!r}")

        def call(*args):
            config = procedure.create_config()
            positional = iter(args)
            for spec in procedure.get_arguments():
                if spec.name == "run-mode":
                    config.set_property("run-mode", Gimp.RunMode.NONINTERACTIVE)
                    continue
                try:
                    value = next(positional)
                except StopIteration:
                    break
                if isinstance(value, (list, tuple)) and spec.value_type.name == "GimpCoreObjectArray":
                    config.set_core_object_array(spec.name, list(value))
                else:
                    config.set_property(spec.name, value)
            result = procedure.run(config)
            if result.index(0) != Gimp.PDBStatusType.SUCCESS:
                raise RuntimeError(f"{name} failed: {result.index(1) if result.length() > 1 else ''}")
            values = [result.index(i) for i in range(1, result.length())]
            return None if not values else values[0] if len(values) == 1 else tuple(values)

        return call


class _GimpModule:
    """The few `gimp.*` calls classic scripts use most."""

    @staticmethod
    def message(text: str) -> None:
        Gimp.message(str(text))

    @staticmethod
    def displays_flush() -> None:
        Gimp.displays_flush()


pdb = _Pdb()
gimp = _GimpModule()
