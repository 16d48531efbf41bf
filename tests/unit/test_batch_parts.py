"""The batch's parts on their own: glob matching, names, the manifest's journal, the progress
bar, the Ray pool's shape (no Ray needed)."""
from __future__ import annotations

import io
import json
import threading
import time

import pytest

from alphalift.batch.listing import translate
from alphalift.batch.manifest import Manifest, Row
from alphalift.batch.naming import output_names
from alphalift.batch.progress import Progress
from alphalift.batch.ray_engine import pool_shape
from alphalift.batch.engine import EngineOptions
from alphalift.batch.storage import LocalStore
from alphalift.errors import AlphaLiftError


def test_glob_translation():
    matches = translate("**/raw/*.jp[g]").fullmatch
    assert matches("raw/a.jpg") and matches("day1/cam2/raw/a.jpg")
    assert not matches("raw/sub/a.jpg") and not matches("raw/a.jpeg")
    assert translate("img?.png").fullmatch("img1.png") and not translate("img?.png").fullmatch("img/.png")
    assert translate("[!a]*.png").fullmatch("b.png") and not translate("[!a]*.png").fullmatch("a.png")


def test_names_mirror_folders_and_fold_case_per_folder():
    names = output_names(["a.jpg", "a.png", "x/A.png", "X/a.webp", "y/a.png", "z/b.tif"])
    assert names == ["a-jpg.png", "a-png.png", "x/A-png.png", "x/a-webp.png", "y/a.png", "z/b.png"]
    assert len({name.casefold() for name in names}) == len(names)


def test_manifest_survives_a_torn_last_line_and_keeps_the_latest_row(tmp_path):
    store = LocalStore()
    path = str(tmp_path / "alphalift-manifest.jsonl")
    first = Manifest(store, path)
    first.record(Row("/in/a.png", "/out/a.png", "failed", reason="/in/a.png: broken"))
    first.record(Row("/in/b.png", "/out/b.png", "ok", output_size=10))
    first.record(Row("/in/a.png", "/out/a.png", "ok", output_size=12))
    first._handle.close()  # a crash: the journal as it was, plus half a line
    with open(path, "a") as handle:
        handle.write('{"input": "/in/c.png", "stat')
    again = Manifest(store, path)
    assert again.earlier("/in/a.png").status == "ok" and again.earlier("/in/a.png").output_size == 12
    assert again.earlier("/in/c.png") is None
    again.close()
    lines = [json.loads(line) for line in open(path).read().splitlines()]
    assert [(row["input"], row["status"]) for row in lines] == [("/in/a.png", "ok"), ("/in/b.png", "ok")]


def test_progress_bar_shows_images_per_second_and_time_left():
    stream = io.StringIO()
    with Progress(stream=stream, force=True) as progress:
        progress.start(3)
        for _ in range(3):
            progress.advance()
        progress.write("alphalift: error: /in/x.png: broken")
    text = stream.getvalue()
    assert "3/3" in text and "images/s" in text and " left" in text
    assert "alphalift: error: /in/x.png: broken\n" in text
    quiet = io.StringIO()
    with Progress(stream=quiet) as progress:  # not a terminal: no bar
        progress.start(3)
        progress.advance()
    assert quiet.getvalue() == ""


def test_ray_pool_shape():
    assert pool_shape({"CPU": 32.0}, 4, EngineOptions()) == (4, 8.0), "one actor a node"
    assert pool_shape({"CPU": 2.0}, 1, EngineOptions(workers=2)) == (2, 1.0)
    assert pool_shape({"CPU": 3.0}, 1, EngineOptions(workers=5)) == (5, 0.6), "all five fit"
    assert pool_shape({"CPU": 160.0, "GPU": 10.0}, 10, EngineOptions(gpus_per_worker=1)) == (10, 16.0)
    assert pool_shape({"CPU": 16.0, "GPU": 1.0}, 1, EngineOptions(gpus_per_worker=0.5)) == (2, 8.0)
    with pytest.raises(AlphaLiftError, match="need 2 GPUs; the Ray cluster has 1"):
        pool_shape({"CPU": 16.0, "GPU": 1.0}, 1, EngineOptions(workers=2, gpus_per_worker=1))


def test_uris_share_one_filesystem_per_bucket_and_keep_their_paths(tmp_path):
    pytest.importorskip("pyarrow", reason="URIs are read through pyarrow (alphalift[ray])")
    from alphalift.batch.storage import locate

    (tmp_path / "a.png").write_bytes(b"1234")
    first, path = locate((tmp_path / "a.png").as_uri())
    second, folder = locate(tmp_path.as_uri() + "/")
    assert first is second, "one filesystem for every file of a root"
    assert path == str(tmp_path / "a.png") and folder == str(tmp_path)
    assert first.stat(path).size == 4 and first.uri(path) == (tmp_path / "a.png").as_uri()


class _CountingBackend:
    """A backend whose passes take a while and count how many run at once."""

    name, device = "fake", "cpu"

    def __init__(self, parallel: int | None) -> None:
        if parallel is not None:
            self.parallel = parallel
        self.running = self.most = 0
        self._lock = threading.Lock()

    def run(self, batch):
        with self._lock:
            self.running += 1
            self.most = max(self.most, self.running)
        time.sleep(0.05)
        with self._lock:
            self.running -= 1
        return batch


@pytest.mark.parametrize("parallel, expected", [(None, 1), (1, 1), (2, 2), (3, 3)])
def test_lanes_run_as_many_passes_at_once_as_the_backend_allows(parallel, expected):
    from alphalift.batch.work import _PassesInTurn

    backend = _CountingBackend(parallel)
    shared = _PassesInTurn(backend)
    lanes = [threading.Thread(target=shared.run, args=(i,)) for i in range(6)]
    for lane in lanes:
        lane.start()
    for lane in lanes:
        lane.join()
    assert backend.most == expected and backend.running == 0
    assert shared.name == "fake"  # everything else is the backend's own
