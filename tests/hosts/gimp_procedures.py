# Imported by the scripts real GIMP 3 runs (gimp_batch.py, gimp_prompts.py): the fixture copies it
# beside them into $ALPHALIFT_TEST_DIR, which they put on sys.path.
from gi.repository import Gimp


def run(name, image, drawables, **properties):
    """Run PDB procedure ``name`` non-interactively: (status nick, error message or "");
    ("missing", "") when GIMP does not know it."""
    procedure = Gimp.get_pdb().lookup_procedure(name)
    if procedure is None:
        return "missing", ""
    config = procedure.create_config()
    config.set_property("run-mode", Gimp.RunMode.NONINTERACTIVE)
    config.set_property("image", image)
    config.set_core_object_array("drawables", drawables)
    for key, value in properties.items():
        config.set_property(key, value)
    result = procedure.run(config)
    status = result.index(0)
    message = str(result.index(1)) if status != Gimp.PDBStatusType.SUCCESS and result.length() > 1 else ""
    return status.value_nick, message
