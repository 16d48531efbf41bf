"""The AlphaLift docker: options, the three actions, progress, Cancel and a message line."""
from typing import List

from krita import DockWidget, Krita
from PyQt5.QtCore import Qt
from PyQt5.QtWidgets import (QCheckBox, QComboBox, QHBoxLayout, QLabel, QProgressBar, QPushButton,
                             QVBoxLayout, QWidget)

from . import settings
from .matte_actions import CUTOUT, REMOVE, SELECT
from .prompt_sources import EXCLUDE_LAYER, INCLUDE_LAYER
from .session import Session, current_session

DOCKER_ID = "alphalift_docker"


def model_label(model: dict) -> str:
    size = f"{model['size'] / 1e6:.0f} MB" if model.get("size") else "size unknown"
    state = "downloaded" if model.get("cached") else "not downloaded"
    default = ", default" if model.get("default") else ""
    return f"{model['name']} \u2014 {size}, {model.get('licence', '?')}, {state}{default}"


class AlphaLiftDocker(DockWidget):
    def __init__(self) -> None:
        super().__init__()
        self.session: Session = current_session()
        self.setWindowTitle("AlphaLift")
        body = QWidget(self)
        layout = QVBoxLayout(body)

        self.model_box = QComboBox(body)
        self.model_box.setToolTip("Which segmentation model finds the subject")
        self.download_button = QPushButton("Download", body)
        row = QHBoxLayout()
        row.addWidget(self.model_box, 1)
        row.addWidget(self.download_button)
        layout.addLayout(row)
        self.refine_box = QCheckBox("Refine edges (alpha matting for hair and fur)", body)
        self.decontaminate_box = QCheckBox("Decontaminate colours (cut out to a new layer)", body)
        layout.addWidget(self.refine_box)
        layout.addWidget(self.decontaminate_box)

        self.buttons = {REMOVE: QPushButton("Remove Background", body),
                        SELECT: QPushButton("Select Subject", body),
                        CUTOUT: QPushButton("Cut Out to New Layer", body)}
        for action, button in self.buttons.items():
            button.clicked.connect(lambda _checked=False, a=action: self.session.run(a))
            layout.addWidget(button)
        self.prompt_buttons = [QPushButton("Add include points layer", body),
                               QPushButton("Add exclude points layer", body),
                               QPushButton("Refine with points", body)]
        include, exclude, refine = self.prompt_buttons
        include.setToolTip(f"A vector layer \u201c{INCLUDE_LAYER}\u201d: the centre of each shape you "
                           "draw on it is a point on the subject")
        exclude.setToolTip(f"A vector layer \u201c{EXCLUDE_LAYER}\u201d: the centre of each shape you "
                           "draw on it is a point that is not subject")
        refine.setToolTip("Run the last action again on the same layer and box with the points as "
                          "they are now; the model is not run again")
        include.clicked.connect(lambda: self.session.add_points(INCLUDE_LAYER))
        exclude.clicked.connect(lambda: self.session.add_points(EXCLUDE_LAYER))
        refine.clicked.connect(lambda: self.session.refine())
        row = QHBoxLayout()
        row.addWidget(include)
        row.addWidget(exclude)
        layout.addLayout(row)
        layout.addWidget(refine)
        self.progress_bar = QProgressBar(body)
        self.progress_bar.setRange(0, 100)
        self.cancel_button = QPushButton("Cancel", body)
        row = QHBoxLayout()
        row.addWidget(self.progress_bar, 1)
        row.addWidget(self.cancel_button)
        layout.addLayout(row)
        self.message_label = QLabel(body)
        self.message_label.setWordWrap(True)
        layout.addWidget(self.message_label)
        layout.addStretch(1)
        self.setWidget(body)

        options = self.session.options
        self.refine_box.setChecked(options.refine)
        self.decontaminate_box.setChecked(options.decontaminate)
        self.refine_box.toggled.connect(self.store_options)
        self.decontaminate_box.toggled.connect(self.store_options)
        self.model_box.currentIndexChanged.connect(self.store_options)
        self.download_button.clicked.connect(lambda: self.session.download(self.current_model()))
        self.cancel_button.clicked.connect(self.session.cancel)
        self.session.busy.connect(self.show_busy)
        self.session.progress.connect(self.show_progress)
        self.session.message.connect(self.show_message)
        self.session.models.connect(self.show_models)
        self.show_busy(self.session.running)
        self.session.refresh_models()

    def canvasChanged(self, canvas) -> None:  # required by DockWidget
        pass

    def current_model(self) -> str:
        return self.model_box.currentData() or ""

    def store_options(self) -> None:
        options = self.session.options
        options.refine = self.refine_box.isChecked()
        options.decontaminate = self.decontaminate_box.isChecked()
        if self.model_box.count():
            options.model = self.current_model()
        settings.save(Krita.instance(), options)

    def show_models(self, models: List[dict]) -> None:
        self.model_box.blockSignals(True)
        self.model_box.clear()
        for model in models:
            self.model_box.addItem(model_label(model), "" if model.get("default") else model["name"])
            self.model_box.setItemData(self.model_box.count() - 1, model.get("description", ""), Qt.ToolTipRole)
        wanted = self.model_box.findData(self.session.options.model)
        self.model_box.setCurrentIndex(max(wanted, 0))
        self.model_box.blockSignals(False)

    def show_progress(self, fraction: float, _stage: str) -> None:
        self.progress_bar.setRange(0, 0 if fraction < 0 else 100)
        self.progress_bar.setValue(max(0, int(fraction * 100)))

    def show_busy(self, busy: bool) -> None:
        for button in list(self.buttons.values()) + self.prompt_buttons + [self.download_button]:
            button.setEnabled(not busy)
        self.cancel_button.setEnabled(busy)
        self.progress_bar.setRange(0, 100)
        self.progress_bar.setValue(0)

    def show_message(self, text: str, error: bool) -> None:
        self.message_label.setStyleSheet("color: #d04040;" if error else "")
        self.message_label.setText(text)
