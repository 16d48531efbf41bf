"""AlphaLift for Krita: a docker and Tools > Scripts actions for AI background removal.

The cut-out runs in AlphaLift's worker (the core's own Python) through the stdlib client the
installer copies beside this package: Krita's embedded Python cannot install onnxruntime.
"""
from krita import DockWidgetFactory, DockWidgetFactoryBase, Krita

from .docker import DOCKER_ID, AlphaLiftDocker
from .extension import AlphaLiftExtension
from .session import current_session  # noqa: F401  (the test driver and scripts reach it here)

Krita.instance().addExtension(AlphaLiftExtension(Krita.instance()))
Krita.instance().addDockWidgetFactory(
    DockWidgetFactory(DOCKER_ID, DockWidgetFactoryBase.DockRight, AlphaLiftDocker))
