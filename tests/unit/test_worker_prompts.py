"""The worker's "prompt" option through a real worker process on the tiny model: a box or point
picks one of two equally red discs, coordinates are the image as seen even with "flip", a
sequence frame takes one too, and a bad prompt is a "bad-prompt" reply naming its field, sent
before any model runs, with nothing written and the worker still serving."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "plugins" / "client"))
from alphalift_client import AlphaLiftClient, AlphaLiftClientError, make_prompt  # noqa: E402

WIDTH, HEIGHT = 96, 64
TOP_LEFT, BOTTOM_RIGHT = (24, 18), (72, 46)  # the two discs' centres, as seen
TOP_LEFT_BOX = [6, 2, 44, 36]


@pytest.fixture
def client(tiny_home):
    with AlphaLiftClient(python=sys.executable) as client:
        yield client


def scene() -> np.ndarray:
    """Two equally red discs (radius 12) on blue, HxWx4 uint8, top row first."""
    y, x = np.mgrid[:HEIGHT, :WIDTH]
    image = np.zeros((HEIGHT, WIDTH, 4), np.uint8)
    image[...] = (20, 40, 200, 255)
    for cx, cy in (TOP_LEFT, BOTTOM_RIGHT):
        image[(x - cx) ** 2 + (y - cy) ** 2 <= 12 ** 2] = (220, 30, 30, 255)
    return image


def alpha_of(result) -> np.ndarray:
    return np.frombuffer(result.alpha, np.uint8).reshape(result.height, result.width).astype(int)


def at(mask: np.ndarray, point: tuple[int, int]) -> int:
    return int(mask[point[1], point[0]])


def outside(box: list[int]) -> np.ndarray:
    keep = np.ones((HEIGHT, WIDTH), bool)
    x0, y0, x1, y1 = box
    keep[y0:y1, x0:x1] = False
    return keep


BAD_PROMPTS = [
    ({"box": [0, 0, 200, 10]}, "options.prompt.box"),  # past the right edge
    ({"box": [40, 30, 10, 50]}, "options.prompt.box"),  # inverted
    ({"box": [10, 10, 30, 10]}, "options.prompt.box"),  # empty
    ({"box": [1, 2, 3]}, "options.prompt.box"),
    ({"box": [1, 2, 3, "4"]}, "options.prompt.box"),
    ({"include": [[96, 5]]}, "options.prompt.include"),  # x == width is outside
    ({"include": "24,18"}, "options.prompt.include"),
    ({"include": [[24, 18], [1]]}, "options.prompt.include"),
    ({"exclude": [[5, -1]]}, "options.prompt.exclude"),
    ({"exclude": [[True, 2]]}, "options.prompt.exclude"),
    ({"colour": "red"}, "prompt"),
    ("box", "prompt"),
]


@pytest.mark.parametrize("prompt, field", BAD_PROMPTS)
def test_a_bad_prompt_is_refused_naming_its_field_and_the_worker_goes_on(client, prompt, field):
    stages: list[str] = []
    message = {"op": "remove", "image": {"path": "/nowhere/input.raw", "width": WIDTH,
                                         "height": HEIGHT, "format": "RGBA8"},
               "options": {"model": "tiny", "prompt": prompt}}
    with pytest.raises(AlphaLiftClientError) as caught:  # checked before the pixel file is looked at
        client._call(message, lambda fraction, stage: stages.append(stage))
    assert caught.value.code == "bad-prompt" and field in str(caught.value), str(caught.value)
    assert stages == []
    result = client.remove(scene().tobytes(), WIDTH, HEIGHT, "RGBA8", model="tiny", refine=False,
                           prompt=make_prompt(box=TOP_LEFT_BOX))
    assert at(alpha_of(result), TOP_LEFT) > 230


def test_a_file_image_is_checked_against_its_own_size_before_the_model(client, tmp_path):
    source, target = tmp_path / "scene.png", tmp_path / "mask.png"
    Image.fromarray(scene()).save(source)
    stages: list[str] = []
    for prompt, field in [(make_prompt(box=[0, 0, WIDTH + 1, HEIGHT]), "options.prompt.box"),
                          (make_prompt(exclude=[[3, HEIGHT]]), "options.prompt.exclude")]:
        with pytest.raises(AlphaLiftClientError) as caught:
            client.remove_file(str(source), {"mask": str(target)}, model="tiny", prompt=prompt,
                               on_progress=lambda fraction, stage: stages.append(stage))
        assert caught.value.code == "bad-prompt" and field in str(caught.value), str(caught.value)
        assert f"{WIDTH}x{HEIGHT}" in str(caught.value)
    assert "load-model" not in stages and not target.exists()


def test_a_box_picks_the_subject_inside_it(client):
    pixels = scene().tobytes()
    automatic = alpha_of(client.remove(pixels, WIDTH, HEIGHT, "RGBA8", model="tiny"))
    assert at(automatic, TOP_LEFT) > 230 and at(automatic, BOTTOM_RIGHT) > 230
    boxed = alpha_of(client.remove(pixels, WIDTH, HEIGHT, "RGBA8", model="tiny",
                                   prompt=make_prompt(box=TOP_LEFT_BOX)))
    assert at(boxed, TOP_LEFT) > 230 and boxed[outside(TOP_LEFT_BOX)].max() == 0


@pytest.mark.parametrize("prompt", [make_prompt(box=TOP_LEFT_BOX), make_prompt(exclude=[BOTTOM_RIGHT])],
                         ids=["box", "exclude"])
def test_flipped_rows_take_the_prompt_as_the_image_is_seen(client, prompt):
    """Blender sends rows bottom-up; the prompt still counts from the top-left of the picture."""
    upright = scene()
    seen = alpha_of(client.remove(upright.tobytes(), WIDTH, HEIGHT, "RGBA8", model="tiny",
                                  prompt=prompt))
    assert at(seen, TOP_LEFT) > 230 and at(seen, BOTTOM_RIGHT) < 25
    flipped = client.remove(np.ascontiguousarray(upright[::-1]).tobytes(), WIDTH, HEIGHT, "RGBA8",
                            model="tiny", prompt=prompt, flip=True)
    assert np.array_equal(alpha_of(flipped)[::-1], seen)  # the reply's rows are bottom-up too


def test_a_sequence_frame_takes_a_prompt_and_a_new_prompt_recuts_a_held_frame(client, tmp_path):
    source = tmp_path / "f_1.png"
    Image.fromarray(scene()).save(source)
    boxed = make_prompt(box=TOP_LEFT_BOX)
    saved = client.remove_file(str(source), {"mask": str(tmp_path / "m1.png")}, model="tiny",
                               sequence={"id": "shot", "frame": 1, "start": True}, prompt=boxed)
    mask = np.asarray(Image.open(saved["mask"])).astype(int)
    assert at(mask, TOP_LEFT) > 230 and mask[outside(TOP_LEFT_BOX)].max() == 0

    def warm_up(prompt):
        return client._call({"op": "remove", "image": {"file": str(source)}, "options": {
            "model": "tiny", "save": {}, "sequence": {"id": "shot", "frame": 1},
            **({"prompt": prompt} if prompt else {})}})["sequence"]["cut"]

    assert warm_up(boxed) is False  # the session holds frame 1 cut with this very prompt
    assert warm_up(make_prompt(exclude=[TOP_LEFT])) is True  # another prompt: cut again
    assert warm_up(None) is True
