"""Item 5: the worker keeps the CLI's rules for files, through the protocol.

Never overwrite an input; an existing file only when the request says "overwrite": true; raw pixel
files (the image's "path" and the "limit") only inside a private folder the client made.
"""
from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

from ..conftest import red_disc
from .test_worker_requests import (  # noqa: F401 (fixtures)
    disc_png, private_folder, raw_image, remove, worker, worker_env,
)


@pytest.fixture
def photo(tmp_path, disc_png) -> Path:
    copy = tmp_path / "photo.png"
    shutil.copyfile(disc_png, copy)
    return copy


def file_request(request_id, source: Path, save: dict, **options) -> dict:
    return remove(request_id, image={"file": str(source)},
                  options={"model": "tiny", "refine": False, "save": {k: str(v) for k, v in save.items()},
                           **options})


@pytest.mark.parametrize("spelling", ["same", "dotted", "symlink"])
def test_save_never_overwrites_the_input(worker, photo, spelling):
    before = photo.read_bytes()
    target = {"same": photo, "dotted": photo.parent / "." / ".." / photo.parent.name / photo.name,
              "symlink": photo.parent / "link.png"}[spelling]
    if spelling == "symlink":
        target.symlink_to(photo)
    reply = worker.call(file_request(31, photo, {"mask": target}, overwrite=True))
    assert reply["error"]["code"] == "output-exists" and "input" in reply["error"]["message"]
    assert photo.read_bytes() == before
    assert worker.answers_hello()


def test_an_existing_file_is_replaced_only_when_the_request_says_so(worker, photo, tmp_path):
    unrelated = tmp_path / "notes.png"
    unrelated.write_bytes(b"precious")
    reply = worker.call(file_request(32, photo, {"foreground": tmp_path / "new.png", "mask": unrelated}))
    assert reply["error"]["code"] == "output-exists" and "overwrite" in reply["error"]["message"]
    assert unrelated.read_bytes() == b"precious"
    assert not (tmp_path / "new.png").exists(), "nothing is written when one target is refused"
    reply = worker.call(file_request(33, photo, {"mask": unrelated}, overwrite=True))
    assert reply["ok"] and unrelated.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_two_outputs_cannot_share_one_file(worker, photo, tmp_path):
    reply = worker.call(file_request(34, photo, {"mask": tmp_path / "a.png", "rgba": tmp_path / "a.png"}))
    assert reply["error"]["code"] == "bad-request"
    assert not (tmp_path / "a.png").exists()


def test_saves_are_atomic_and_leave_no_temporary_files(worker, photo, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    reply = worker.call(file_request(35, photo, {"mask": out / "m.png", "rgba": out / "c.png"}))
    assert reply["ok"] and sorted(p.name for p in out.iterdir()) == ["c.png", "m.png"]


def test_raw_pixels_outside_a_private_folder_are_refused(worker, tmp_path):
    secret = tmp_path / "secret.raw"  # any file of the right size would do, e.g. a key file
    red_disc((40, 30), radius=10).tofile(secret)
    image = {"path": str(secret), "width": 40, "height": 30, "format": "RGB8"}
    reply = worker.call(remove(41, image=image, options={"model": "tiny", "refine": False}))
    assert reply["error"]["code"] == "forbidden-path" and str(secret) in reply["error"]["message"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["secret.raw"], "nothing written beside it"
    assert worker.answers_hello()


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX owners and modes")
def test_a_shared_folder_with_the_right_name_is_not_private(worker):
    folder = Path(tempfile.mkdtemp(prefix="alphalift-"))
    try:
        os.chmod(folder, 0o755)  # what another program (or user) could have made
        reply = worker.call(remove(42, image=raw_image(folder), options={"model": "tiny", "refine": False}))
        assert reply["error"]["code"] == "forbidden-path"
    finally:
        shutil.rmtree(folder)


def test_a_subfolder_or_a_link_out_of_the_private_folder_is_refused(worker, private_folder, tmp_path):
    nested = private_folder / "deeper"
    nested.mkdir()
    reply = worker.call(remove(43, image=raw_image(nested), options={"model": "tiny", "refine": False}))
    assert reply["error"]["code"] == "forbidden-path"
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    raw_image(outside)
    (private_folder / "input.raw").symlink_to(outside / "input.raw")
    image = dict(raw_image(outside), path=str(private_folder / "input.raw"))
    reply = worker.call(remove(44, image=image, options={"model": "tiny", "refine": False}))
    assert reply["error"]["code"] == "forbidden-path"
    assert sorted(p.name for p in outside.iterdir()) == ["input.raw"]


def test_a_limit_outside_a_private_folder_is_refused(worker, private_folder, tmp_path):
    limit = tmp_path / "limit.raw"
    limit.write_bytes(b"\xff" * 1200)
    reply = worker.call(remove(45, image=raw_image(private_folder),
                               options={"model": "tiny", "refine": False, "limit": str(limit)}))
    assert reply["error"]["code"] == "forbidden-path" and "limit" in reply["error"]["message"]


def test_raw_pixels_in_a_private_folder_are_read_and_answered_beside_them(worker, private_folder):
    (private_folder / "limit.raw").write_bytes(b"\xff" * 1200)
    reply = worker.call(remove(46, image=raw_image(private_folder),
                               options={"model": "tiny", "refine": False,
                                        "limit": str(private_folder / "limit.raw")}))
    assert reply["ok"] and Path(reply["alpha"]["path"]).parent == private_folder
    alpha = np.fromfile(reply["alpha"]["path"], np.uint8).reshape(30, 40)
    assert alpha[15, 20] > 200


def test_a_missing_pixel_file_in_a_private_folder_says_so(worker, private_folder):
    image = dict(raw_image(private_folder), path=str(private_folder / "not-written.raw"))
    reply = worker.call(remove(47, image=image, options={"model": "tiny"}))
    assert reply["error"]["code"] == "bad-input" and "is missing" in reply["error"]["message"]
