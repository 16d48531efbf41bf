import numpy as np
import pytest

from alphalift.models.catalog import Catalog
from alphalift.segment import postprocess, preprocess


def test_isnet_medium_preprocessing_is_x_over_255_minus_half():
    spec = Catalog.load().get("isnet-medium")
    rgb = np.full((10, 20, 3), (0, 255, 51), np.uint8)
    tensor = preprocess(rgb, spec)
    assert tensor.shape == (1, 3, 1024, 1024) and tensor.dtype == np.float32
    assert tensor[0, :, 5, 5] == pytest.approx([-0.5, 0.5, 0.2 - 0.5], abs=1e-6)


def test_u2net_preprocessing_divides_by_max_and_uses_imagenet_statistics():
    spec = Catalog.load().get("u2net")
    rgb = np.full((8, 8, 3), (100, 200, 50), np.uint8)
    tensor = preprocess(rgb, spec)
    assert tensor.shape == (1, 3, 320, 320)
    expected = (np.array([100, 200, 50]) / 200 - np.array([0.485, 0.456, 0.406])) / np.array(
        [0.229, 0.224, 0.225])
    assert tensor[0, :, 0, 0] == pytest.approx(expected, abs=1e-5)


def test_postprocess_scales_to_the_image_size_and_unit_range():
    spec = Catalog.load().get("isnet-medium")
    output = np.zeros((1, 1, 16, 16), np.float32)
    output[..., 4:12, 4:12] = 1.0
    mask = postprocess(output, spec, (40, 30))
    assert mask.shape == (30, 40) and mask.dtype == np.float32
    assert mask.min() >= 0.0 and mask.max() <= 1.0
    assert mask[15, 20] == pytest.approx(1.0) and mask[0, 0] == pytest.approx(0.0)


def test_minmax_and_logit_outputs():
    catalog = Catalog.load()
    raw = np.array([[[[0.2, 0.4], [0.6, 0.8]]]], np.float32)
    stretched = postprocess(raw, catalog.get("u2net"), (2, 2))
    assert stretched.ravel() == pytest.approx([0, 1 / 3, 2 / 3, 1], abs=1e-6)
    logits = postprocess(np.zeros((1, 1, 2, 2), np.float32), catalog.get("birefnet-general"), (2, 2))
    assert logits.ravel() == pytest.approx([0.5] * 4)
