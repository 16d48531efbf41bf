"""AlphaLift for Krita: a docker and Tools > Scripts actions for AI background removal.

The cut-out runs in AlphaLift's worker (the core's own Python) through the stdlib client the
installer copies beside this package: Krita's embedded Python cannot install onnxruntime.
"""
from typing import Optional

from krita import DockWidgetFactory, DockWidgetFactoryBase, Krita

from .session import Session
from . import settings

_session: Optional[Session] = None


def current_session() -> Session:
    """The one session of this Krita process, created on first use."""
    global _session
    if _session is None:
        krita = Krita.instance()
        _session = Session(krita)
        _session.options = settings.load(krita)
    return _session


from .docker import DOCKER_ID, AlphaLiftDocker  # noqa: E402
from .extension import AlphaLiftExtension  # noqa: E402

Krita.instance().addExtension(AlphaLiftExtension(Krita.instance()))
Krita.instance().addDockWidgetFactory(
    DockWidgetFactory(DOCKER_ID, DockWidgetFactoryBase.DockRight, AlphaLiftDocker))
