"""Opening every kind of image, and refusing bad ones with a clear message."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageCms

from alphalift.errors import ImageTooLargeError, InputError
from alphalift.imageio import NEUTRAL_GREY, OutputError, load_image, save_image, save_png

from ..conftest import red_disc


def write(tmp_path, image: Image.Image, name: str, **params):
    path = tmp_path / name
    image.save(path, **params)
    return path


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "LA", "P", "CMYK", "I;16", "I", "F", "1"])
def test_every_mode_becomes_8bit_rgb_of_the_same_size(tmp_path, mode):
    base = Image.fromarray(red_disc((37, 23)))
    if mode == "I;16":
        image = Image.fromarray((np.asarray(base.convert("L"), np.uint16) * 257))
        assert image.mode == "I;16"
    elif mode == "F":
        image = Image.fromarray(np.asarray(base.convert("L"), np.float32) / 255.0, "F")
    else:
        image = base.convert(mode)
    name = "x.tif" if mode in ("I;16", "I", "F", "CMYK") else "x.png"
    source = load_image(write(tmp_path, image, name))
    assert source.rgb.shape == (23, 37, 3) and source.rgb.dtype == np.uint8
    if mode in ("I;16", "F", "L"):
        grey = np.asarray(base.convert("L"))
        assert np.abs(source.rgb[..., 0].astype(int) - grey).max() <= 1, "scaled, not clipped"


def test_existing_alpha_is_kept_and_the_model_sees_grey(tmp_path):
    rgba = np.zeros((10, 12, 4), np.uint8)
    rgba[..., :3] = (200, 10, 10)
    rgba[..., 3] = 255
    rgba[:, :6, 3] = 0
    source = load_image(write(tmp_path, Image.fromarray(rgba, "RGBA"), "a.png"))
    assert source.alpha is not None and source.alpha[:, :6].max() == 0.0 and source.alpha[:, 6:].min() == 1
    assert (source.rgb[:, :6] == NEUTRAL_GREY).all() and (source.rgb[:, 6:] == (200, 10, 10)).all()
    assert (source.colour[:, :6] == (200, 10, 10)).all(), "the user's own colours survive"


def test_palette_transparency_counts_as_alpha(tmp_path):
    image = Image.fromarray(red_disc()).convert("P", palette=Image.ADAPTIVE, colors=4)
    path = write(tmp_path, image, "p.png", transparency=0)
    assert load_image(path).alpha is not None


def test_exif_orientation_is_applied(tmp_path):
    image = Image.fromarray(red_disc((40, 20)))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    path = write(tmp_path, image, "r.jpg", exif=exif.tobytes())
    assert load_image(path).size == (20, 40)


def test_icc_profile_travels_to_the_output(tmp_path):
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    path = write(tmp_path, Image.fromarray(red_disc()), "c.png", icc_profile=profile)
    source = load_image(path)
    assert source.icc_profile == profile
    out = tmp_path / "out.png"
    save_png(Image.fromarray(source.rgb), out, icc_profile=source.icc_profile)
    assert Image.open(out).info["icc_profile"] == profile


@pytest.mark.parametrize("content, expected", [
    (b"", "empty"),
    (b"this is not an image at all", "not an image"),
])
def test_bad_files_get_a_clear_message(tmp_path, content, expected):
    path = tmp_path / "bad.png"
    path.write_bytes(content)
    with pytest.raises(InputError, match=expected):
        load_image(path)


def test_truncated_file(tmp_path):
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (200, 200, 3), np.uint8)).save(buffer, "PNG")
    path = tmp_path / "cut.png"
    path.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    with pytest.raises(InputError, match="damaged or truncated"):
        load_image(path)


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        load_image(tmp_path / "nope.png")


def test_one_pixel_image_is_refused(tmp_path):
    with pytest.raises(InputError, match="only 1x1 pixels"):
        load_image(write(tmp_path, Image.new("RGB", (1, 1)), "one.png"))


def test_pixel_limit_stops_decompression_bombs_before_decoding(tmp_path, monkeypatch):
    path = write(tmp_path, Image.new("RGB", (300, 200)), "big.png")
    with pytest.raises(ImageTooLargeError, match=f"^{path}: .*over the limit of 50,000"):
        load_image(path, limit=50_000)
    monkeypatch.setenv("ALPHALIFT_MAX_PIXELS", "1000")
    with pytest.raises(ImageTooLargeError, match="--max-pixels"):
        load_image(path)


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
@pytest.mark.parametrize("shape", [(1, 1), (5, 7), (700, 33)])
def test_fast_png_round_trips_through_pillow(tmp_path, channels, shape):
    rng = np.random.default_rng(channels)
    pixels = rng.integers(0, 256, shape + (channels,), dtype=np.uint8)
    pixels[: shape[0] // 2] = 7  # some compressible rows too
    path = tmp_path / "x.png"
    save_png(pixels if channels > 1 else pixels[..., 0], path)
    back = np.asarray(Image.open(path))
    assert back.reshape(pixels.shape).tolist() == pixels.tolist()


def test_fast_png_keeps_the_icc_profile(tmp_path):
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    path = tmp_path / "icc.png"
    save_png(np.zeros((4, 4, 4), np.uint8), path, icc_profile=profile)
    assert Image.open(path).info["icc_profile"] == profile


@pytest.mark.parametrize("name, mode, expected", [
    ("x.png", "RGBA", "PNG"), ("x.WEBP", "RGBA", "WEBP"), ("x.tiff", "RGBA", "TIFF"),
    ("x.tif", "L", "TIFF"), ("x.jpg", "RGB", "JPEG"), ("x.jpeg", "L", "JPEG"),
])
def test_save_image_writes_what_the_extension_says(tmp_path, name, mode, expected):
    image = Image.fromarray(red_disc((30, 20))).convert(mode)
    if mode == "RGBA":
        image.putalpha(Image.linear_gradient("L").resize(image.size))
    path = tmp_path / name
    save_image(image, path)
    with Image.open(path) as back:
        assert back.format == expected and back.mode == mode and back.size == (30, 20)
        if expected != "JPEG":
            assert np.array_equal(np.asarray(back), np.asarray(image)), "lossless"


@pytest.mark.parametrize("name, mode, expected", [
    ("x.jpg", "RGBA", "JPEG has no transparency"), ("x.gif", "RGB", "not .gif"),
])
def test_save_image_refuses_what_the_name_cannot_hold(tmp_path, name, mode, expected):
    with pytest.raises(OutputError, match=expected):
        save_image(Image.new(mode, (8, 8)), tmp_path / name)
    assert list(tmp_path.iterdir()) == []


def test_a_failed_write_names_the_file(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("a file where a folder should be")
    target = blocker / "out.png"
    with pytest.raises(OutputError, match=f"^{target}: could not write"):
        save_png(np.zeros((4, 4), np.uint8), target)
