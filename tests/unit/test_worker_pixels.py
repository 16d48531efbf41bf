"""One pixel codec for the worker, both ways: the foreground comes back in the layout a host draws
with (the same bytes the hosts' own conversions made), rows bottom-up on request, and `hello`
names the defaults so hosts stop restating them."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from alphalift.models import ModelStore

from ..conftest import red_disc

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "plugins" / "client"))
from alphalift_client import AlphaLiftClient, AlphaLiftClientError  # noqa: E402


def gimp_rgba(rgb: bytes) -> bytes:
    """What GIMP's plug-in drew with before the worker did it: R,G,B,255."""
    colours = np.frombuffer(rgb, np.uint8).reshape(-1, 3)
    return np.hstack([colours, np.full((len(colours), 1), 255, np.uint8)]).tobytes()


def krita_bgra(rgb: bytes) -> bytes:
    """What Krita's plug-in drew with before the worker did it: B,G,R,255 (its U8 pixel order)."""
    colours = np.frombuffer(rgb, np.uint8).reshape(-1, 3)[:, ::-1]
    return np.hstack([colours, np.full((len(colours), 1), 255, np.uint8)]).tobytes()


def blender_cutout(foreground_rgb8: bytes, alpha_f32: bytes, width: int, height: int) -> bytes:
    """What Blender's Image > Remove Background builds today from an RGB8 + F32 reply (its rows
    go back bottom-up)."""
    colours = np.frombuffer(foreground_rgb8, np.uint8).reshape(height, width, 3) / 255.0
    alpha = np.frombuffer(alpha_f32, "<f4").reshape(height, width, 1)
    return np.dstack([colours, alpha])[::-1].astype(np.float32).tobytes()


@pytest.fixture
def client(tiny_home):
    with AlphaLiftClient(python=sys.executable) as client:
        yield client


@pytest.fixture
def photo() -> np.ndarray:
    image = np.dstack([red_disc((48, 32), radius=11), np.full((32, 48), 255, np.uint8)])
    image[:5, :7] = (12, 200, 90, 255)  # an asymmetric corner, so a lost flip shows
    return image


def test_rgba8_is_gimps_interleave_and_bgra8_is_kritas_order(client, photo):
    pixels = photo.tobytes()
    plain = client.remove(pixels, 48, 32, "RGBA8", model="tiny")
    assert plain.foreground_format == "RGB8"
    rgba = client.remove(pixels, 48, 32, "RGBA8", model="tiny", foreground_format="RGBA8")
    assert rgba.foreground_format == "RGBA8" and rgba.foreground == gimp_rgba(plain.foreground)
    bgra = client.remove(pixels, 48, 32, "RGBA8", model="tiny", foreground_format="BGRA8")
    assert bgra.foreground == krita_bgra(plain.foreground)
    assert bgra.alpha == plain.alpha


def test_blenders_bottom_up_float_cut_out_comes_back_ready(client, photo):
    top_down = photo.astype(np.float32) / 255.0
    old = client.remove(np.ascontiguousarray(top_down).astype("<f4").tobytes(), 48, 32, "RGBAF",
                        model="tiny", alpha_format="F32")
    bottom_up = np.ascontiguousarray(top_down[::-1]).astype("<f4").tobytes()  # Blender's pixels as stored
    new = client.remove(bottom_up, 48, 32, "RGBAF", model="tiny", alpha_format="F32", flip=True,
                        foreground_format="RGBAF", foreground_alpha="matte")
    assert new.foreground == blender_cutout(old.foreground, old.alpha, 48, 32)
    flipped_alpha = np.frombuffer(old.alpha, "<f4").reshape(32, 48)[::-1].tobytes()
    assert new.alpha == flipped_alpha


def test_a_flipped_request_reads_its_selection_bottom_up_too(client, photo):
    selection = np.zeros((32, 48), np.uint8)
    selection[:8] = 255  # top rows only
    top = client.remove(photo.tobytes(), 48, 32, "RGBA8", model="tiny", refine=False,
                        limit=selection.tobytes(), foreground=False)
    flipped = client.remove(np.ascontiguousarray(photo[::-1]).tobytes(), 48, 32, "RGBA8", model="tiny",
                            refine=False, limit=np.ascontiguousarray(selection[::-1]).tobytes(),
                            foreground=False, flip=True)
    expected = np.frombuffer(top.alpha, np.uint8).reshape(32, 48)[::-1].tobytes()
    assert flipped.alpha == expected


def test_an_unknown_layout_is_refused(client, photo):
    with pytest.raises(AlphaLiftClientError, match="foreground_format") as caught:
        client.remove(photo.tobytes(), 48, 32, "RGBA8", model="tiny", foreground_format="ARGB8")
    assert caught.value.code == "bad-request"


def test_hello_names_the_defaults(client):
    default = ModelStore().catalog.get(None)
    assert client.defaults == {"model": default.name, "licence": default.licence,
                               "licence_url": default.licence_url,
                               "description": default.description, "refine": True}


@pytest.mark.parametrize("fmt, alpha_mode", [("RGB8", "opaque"), ("RGBA8", "opaque"), ("BGRA8", "opaque"),
                                             ("RGBA8", "matte"), ("BGRA8", "matte"), ("RGBAF", "opaque"),
                                             ("RGBAF", "matte")])
def test_each_layout_matches_the_hosts_own_conversion(fmt, alpha_mode):
    from alphalift.worker.pixels import encode_foreground

    rng = np.random.default_rng(7)
    colours = rng.integers(0, 256, (5, 6, 3), dtype=np.uint8)
    mask = rng.random((5, 6), dtype=np.float32)
    rgb = colours.tobytes()
    alpha8 = np.round(mask * 255).astype(np.uint8)
    expected = {
        ("RGB8", "opaque"): rgb,
        ("RGBA8", "opaque"): gimp_rgba(rgb),
        ("BGRA8", "opaque"): krita_bgra(rgb),
        ("RGBA8", "matte"): np.dstack([colours, alpha8]).tobytes(),
        ("BGRA8", "matte"): np.dstack([colours[..., ::-1], alpha8]).tobytes(),
        ("RGBAF", "opaque"): blender_cutout(rgb, np.ones((5, 6), "<f4").tobytes(), 6, 5),
        ("RGBAF", "matte"): blender_cutout(rgb, mask.astype("<f4").tobytes(), 6, 5),
    }[fmt, alpha_mode]
    flip = fmt == "RGBAF"  # Blender's layout is bottom-up
    assert encode_foreground(colours, mask, fmt, alpha_mode, flip=flip) == expected
