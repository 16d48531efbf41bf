"""Tools > Scripts > AlphaLift actions (bindable to shortcuts), sharing the docker's session."""
from krita import Extension

from .matte_actions import CUTOUT, REMOVE, SELECT
from .session import current_session

ACTIONS = {
    "alphalift_remove_background": ("AlphaLift: Remove Background", REMOVE),
    "alphalift_select_subject": ("AlphaLift: Select Subject", SELECT),
    "alphalift_cutout_layer": ("AlphaLift: Cut Out to New Layer", CUTOUT),
}


class AlphaLiftExtension(Extension):
    def __init__(self, parent) -> None:
        super().__init__(parent)

    def setup(self) -> None:
        self.parent().notifier().applicationClosing.connect(current_session().shutdown)

    def createActions(self, window) -> None:
        for action_id, (text, action) in ACTIONS.items():
            created = window.createAction(action_id, text, "tools/scripts")
            created.triggered.connect(lambda _checked=False, a=action: current_session().run(a))
        refine = window.createAction("alphalift_refine_points", "AlphaLift: Refine with Points", "tools/scripts")
        refine.triggered.connect(lambda _checked=False: current_session().refine())
