"""Test driver: once Krita's window exists, run AlphaLift's real actions, save, dump, exit.

Everything is wrapped so an exception exits Krita with code 3 instead of opening a modal dialog.
Results go to $ALPHALIFT_TEST_DIR: .kra/.png files, raw pixel dumps and report.json.
"""
import json
import os
import sys
import traceback

from krita import Extension, InfoObject, Krita, Selection
from PyQt5.QtCore import QEventLoop, QTimer
from PyQt5.QtWidgets import QCheckBox, QComboBox, QLabel, QPushButton

WORK = os.environ.get("ALPHALIFT_TEST_DIR", "")
SCENARIO = os.environ.get("ALPHALIFT_TEST_SCENARIO", "all")
report = {}


def log(*parts) -> None:
    sys.stderr.write("[alphalift-test] " + " ".join(map(str, parts)) + "\n")
    sys.stderr.flush()


def trigger(name: str):
    """Run an action through its real QAction and wait until AlphaLift is idle again."""
    return run_and_wait(Krita.instance().action(name).trigger)


def run_and_wait(start):
    """Start AlphaLift (an action, a docker button) and wait until it is idle again."""
    from alphalift_krita import current_session

    session = current_session()
    start()
    if session.running:
        loop = QEventLoop()
        session.busy.connect(lambda busy: None if busy else loop.quit())
        loop.exec_()
    return list(session.last_message)


def open_photo(name: str = "photo.png"):
    krita = Krita.instance()
    document = krita.openDocument(os.path.join(WORK, name))
    document.setBatchmode(True)
    window = krita.activeWindow()
    view = window.addView(document)
    window.showView(view)
    view.setVisible()
    document.waitForDone()
    settle()
    document.setActiveNode(document.topLevelNodes()[0])  # headless Krita may ignore this
    settle()
    return document


def settle() -> None:
    """Let Krita's queued GUI updates (new view, active node) happen, as between user clicks."""
    loop = QEventLoop()
    QTimer.singleShot(100, loop.quit)
    loop.exec_()


def dump(node_or_selection, name: str, x: int, y: int, w: int, h: int) -> None:
    with open(os.path.join(WORK, name), "wb") as handle:
        handle.write(bytes(node_or_selection.pixelData(x, y, w, h)))


def children(node):
    return [(c.name(), c.type()) for c in node.childNodes()]


def scenario() -> None:
    krita = Krita.instance()
    krita.setBatchmode(True)
    report["dockers"] = [d.windowTitle() for d in krita.dockers()]
    document = open_photo()
    layer = document.topLevelNodes()[0]
    width, height = document.width(), document.height()
    report["remove"] = trigger("alphalift_remove_background")
    report["after_remove"] = children(layer)
    document.saveAs(os.path.join(WORK, "remove.kra"))
    document.exportImage(os.path.join(WORK, "remove.png"), InfoObject())
    krita.action("edit_undo").trigger()
    document.waitForDone()
    report["after_undo"] = children(layer)
    krita.action("edit_redo").trigger()
    document.waitForDone()
    report["after_redo"] = children(layer)
    report["again"] = trigger("alphalift_remove_background")
    report["select"] = trigger("alphalift_select_subject")
    dump(document.selection(), "selection.raw", 0, 0, width, height)

    grouped = open_photo()  # a document whose only layer is a group
    group = grouped.createNode("Things", "grouplayer")
    grouped.rootNode().addChildNode(group, None)
    grouped.topLevelNodes()[0].remove()
    grouped.waitForDone()
    report["group"] = trigger("alphalift_remove_background")
    report["group_children"] = children(group)

    cutout = open_photo()
    report["cutout"] = trigger("alphalift_cutout_layer")
    report["cutout_layers"] = [(n.name(), n.type(), n.colorDepth()) for n in cutout.topLevelNodes()]
    top = cutout.topLevelNodes()[-1]
    dump(top, "cutout.raw", 0, 0, width, height)
    dump(top.childNodes()[0], "cutout_mask.raw", 0, 0, width, height)

    limited = open_photo()
    selection = Selection()
    selection.select(0, 0, width // 2, height, 255)
    limited.setSelection(selection)
    report["limited"] = trigger("alphalift_remove_background")
    dump(limited.topLevelNodes()[0].childNodes()[0], "limited_mask.raw", 0, 0, width, height)

    moved = open_photo()
    moved.topLevelNodes()[0].move(-40, 25)
    moved.waitForDone()
    report["moved"] = trigger("alphalift_remove_background")
    bounds = moved.topLevelNodes()[0].bounds()
    report["moved_bounds"] = [bounds.x(), bounds.y(), bounds.width(), bounds.height()]
    dump(moved.topLevelNodes()[0].childNodes()[0], "moved_mask.raw", *report["moved_bounds"])

    for depth, profile in (("U16", "sRGB-elle-V2-g10.icc"), ("F32", "sRGB-elle-V2-g10.icc")):
        deep = open_photo()
        deep.setColorSpace("RGBA", depth, profile)
        deep.waitForDone()
        deep.setActiveNode(deep.topLevelNodes()[0])
        report[depth] = trigger("alphalift_remove_background")
        dump(deep.topLevelNodes()[0].childNodes()[0], f"{depth}_mask.raw", 0, 0, width, height)

    gray = open_photo("gray.png")
    report["gray_space"] = [gray.colorModel(), gray.colorDepth()]
    report["gray"] = trigger("alphalift_remove_background")
    dump(gray.topLevelNodes()[0].childNodes()[0], "gray_mask.raw", 0, 0, width, height)

    cmyk = open_photo()
    cmyk.setColorSpace("CMYKA", "U8", "")
    cmyk.waitForDone()
    cmyk.setActiveNode(cmyk.topLevelNodes()[0])
    report["cmyk"] = trigger("alphalift_remove_background")
    report["cmyk_children"] = children(cmyk.topLevelNodes()[0])

    docker_scenario(krita, width, height)

    reopened = krita.openDocument(os.path.join(WORK, "remove.kra"))
    saved_layer = reopened.topLevelNodes()[0]
    report["reopened"] = children(saved_layer)
    dump(saved_layer, "kra_layer.raw", 0, 0, width, height)
    dump(saved_layer.childNodes()[0], "kra_mask.raw", 0, 0, width, height)


def docker_scenario(krita, width: int, height: int) -> None:
    """What a user does in the docker: read the model list, untick Refine, click a button."""
    docker = next(d for d in krita.dockers() if d.windowTitle() == "AlphaLift")
    models = docker.findChildren(QComboBox)[0]
    report["docker_models"] = [models.itemText(i) for i in range(models.count())]
    buttons = {button.text(): button for button in docker.findChildren(QPushButton)}
    report["docker_enabled"] = {text: button.isEnabled() for text, button in buttons.items()}
    refine = next(box for box in docker.findChildren(QCheckBox) if box.text().startswith("Refine"))
    refine.setChecked(False)
    report["docker_refine_setting"] = krita.readSetting("AlphaLift", "refine", "?")
    document = open_photo()
    report["docker_remove"] = run_and_wait(buttons["Remove Background"].click)
    report["docker_label"] = [label.text() for label in docker.findChildren(QLabel) if label.text()]
    dump(document.topLevelNodes()[0].childNodes()[0], "docker_mask.raw", 0, 0, width, height)
    refine.setChecked(True)


def docker_buttons(krita):
    docker = next(d for d in krita.dockers() if d.windowTitle() == "AlphaLift")
    return {button.text(): button for button in docker.findChildren(QPushButton)}


def add_ellipse(layer, x_px: float, y_px: float, ppi: float, name: str) -> None:
    """An 8-pixel ellipse centred on image pixel (x_px, y_px), drawn the way a user's Ellipse tool
    leaves it: a shape on the vector layer, its geometry in points (1/72 inch)."""
    pt = 72.0 / ppi
    layer.addShapesFromSvg(
        '<svg xmlns="http://www.w3.org/2000/svg" width="2000pt" height="2000pt" viewBox="0 0 2000 2000">'
        f'<ellipse id="{name}" cx="{x_px * pt}" cy="{y_px * pt}" rx="{4 * pt}" ry="{4 * pt}" '
        'fill="#ff0000"/></svg>')
    settle()


def prompt_scenario() -> None:
    """Two discs: a drawn exclude shape, Refine with points and a selection box pick one."""
    from alphalift_krita.prompt_sources import EXCLUDE_LAYER

    krita = Krita.instance()
    krita.setBatchmode(True)
    buttons = docker_buttons(krita)
    report["prompt_buttons"] = [t for t in ("Add include points layer", "Add exclude points layer",
                                            "Refine with points") if t in buttons]
    size = (0, 0, 512, 512)

    # 1. An exclude shape on the right disc, then Remove Background (300 ppi: points != pixels).
    document = open_photo("two.png")
    document.setResolution(300)
    document.waitForDone()
    layer = document.topLevelNodes()[0]
    buttons["Add exclude points layer"].click()
    settle()
    exclude = next(n for n in document.topLevelNodes() if n.name() == EXCLUDE_LAYER)
    active = document.activeNode()  # headless Krita may not show it active yet
    report["points_layer"] = [exclude.type(), active.name() if active else None,
                              [n.name() for n in document.topLevelNodes()]]
    add_ellipse(exclude, 370, 260, 300, "right")
    box = exclude.shapes()[0].boundingBox()
    report["shape_centre_px"] = [(box.x() + box.width() / 2) * 300 / 72,
                                 (box.y() + box.height() / 2) * 300 / 72]
    report["exclude_remove"] = run_and_wait(buttons["Remove Background"].click)
    report["exclude_children"] = children(layer)
    dump(layer.childNodes()[0], "exclude_mask.raw", *size)
    dump(layer, "exclude_layer.raw", *size)
    krita.action("edit_undo").trigger()
    document.waitForDone()
    report["exclude_after_undo"] = children(layer)
    krita.action("edit_redo").trigger()
    document.waitForDone()
    report["exclude_after_redo"] = children(layer)

    # 2. Automatic first, then an exclude shape and Refine with points: the mask is replaced.
    refined = open_photo("two.png")
    target = refined.topLevelNodes()[0]
    report["auto_remove"] = run_and_wait(buttons["Remove Background"].click)
    dump(target.childNodes()[0], "auto_mask.raw", *size)
    buttons["Add exclude points layer"].click()
    settle()
    points = next(n for n in refined.topLevelNodes() if n.name() == EXCLUDE_LAYER)
    add_ellipse(points, 370, 260, refined.resolution(), "right")
    report["refine"] = run_and_wait(buttons["Refine with points"].click)
    report["refine_children"] = children(target)
    dump(target.childNodes()[0], "refine_mask.raw", *size)
    dump(target, "refine_layer.raw", *size)

    # 3. A selection around the left disc is the box (and still the limit).
    boxed = open_photo("two.png")
    selection = Selection()
    selection.select(40, 150, 220, 220, 255)
    boxed.setSelection(selection)
    report["box_remove"] = trigger("alphalift_remove_background")
    report["box_children"] = children(boxed.topLevelNodes()[0])
    dump(boxed.topLevelNodes()[0].childNodes()[0], "box_mask.raw", *size)


class TestDriver(Extension):
    def setup(self) -> None:
        if WORK:
            Krita.instance().notifier().windowCreated.connect(lambda: QTimer.singleShot(500, self.run))

    def createActions(self, window) -> None:
        pass

    def run(self) -> None:
        code = 0
        try:
            prompt_scenario() if SCENARIO == "prompts" else scenario()
        except Exception:
            report["exception"] = traceback.format_exc()
            log(report["exception"])
            code = 3
        with open(os.path.join(WORK, "report.json"), "w") as handle:
            json.dump(report, handle, indent=1)
        from alphalift_krita import current_session

        current_session().shutdown()
        os._exit(code)


Krita.instance().addExtension(TestDriver(Krita.instance()))
