"""A `blender` command line for the installers, made of pip `bpy` (Blender as a module, which has
no executable). Run by the bpy venv's Python; it answers the three calls the installers make:

    blender --version
    blender --command extension ARGS...                      Blender's own extension CLI (bl_pkg)
    blender --background --python-exit-code N --python-expr EXPR   EXPR in Blender; exit N if it raises
"""
import os
import sys
import traceback

import bpy  # noqa: I001 - bpy first: it makes Blender's own modules importable


def main(args: list) -> int:
    if args == ["--version"]:
        print(f"Blender {bpy.app.version_string}")
        return 0
    if args[:2] == ["--command", "extension"]:
        from bl_pkg import bl_extension_cli

        return bl_extension_cli.cli_extension_handler(args[2:])
    if "--python-expr" in args:
        failure = int(args[args.index("--python-exit-code") + 1]) if "--python-exit-code" in args else 0
        script = compile(args[args.index("--python-expr") + 1], "<python-expr>", "exec")
        try:
            exec(script, {"__name__": "__main__"})
        except Exception:
            traceback.print_exc()
            return failure
        return 0
    print(f"blender_shim: unsupported arguments {args}", file=sys.stderr)
    return 2


code = main(sys.argv[1:])
sys.stdout.flush()
sys.stderr.flush()
os._exit(code)  # bpy as a module can hang at interpreter exit
