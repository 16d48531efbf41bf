import re

import pytest

from alphalift.errors import UnknownModelError
from alphalift.models.catalog import FAMILIES, Catalog, spec_from_dict


def test_default_is_the_imgly_medium_isnet():
    catalog = Catalog.load()
    spec = catalog.get(None)
    assert spec.name == catalog.default == "isnet-medium"
    assert spec.sha256 == "b6e8497ba978a6f5fbb647e419d2696cd80df5a23cb6a8ea532021911bd76acb"
    assert spec.size == 88_188_479
    assert spec.licence == "AGPL-3.0"
    assert [s.kind for s in spec.sources] == ["chunked", "npm"]
    assert spec.sources[1].package == "@imgly/background-removal-data@1.4.5"
    assert spec.sources[0].key == spec.sources[1].key == "/models/medium"


def test_small_model_is_listed_with_its_hash():
    spec = Catalog.load().get("isnet-small")
    assert spec.sha256 == "7001d60734fdc112dd9c062635fb59cd401fb82a9d4213134bce4dbd655c803a"
    assert spec.size == 44_342_436 and spec.licence == "AGPL-3.0"


@pytest.mark.parametrize("name", ["u2net", "u2netp", "u2net_human_seg", "silueta", "isnet-general-use",
                                  "isnet-anime", "birefnet-general", "birefnet-general-lite",
                                  "birefnet-portrait"])
def test_rembg_models_keep_canonical_urls_and_hashes(name):
    spec = Catalog.load().get(name)
    assert re.fullmatch(r"[0-9a-f]{64}", spec.sha256)
    assert re.fullmatch(r"[0-9a-f]{32}", spec.md5)
    assert spec.sources[0].url.startswith("https://github.com/danielgatis/rembg/releases/download/")
    assert spec.licence in ("Apache-2.0", "MIT")
    assert spec.family in FAMILIES


def test_every_model_says_how_to_feed_it():
    for spec in Catalog.load():
        assert len(spec.mean) == len(spec.std) == 3
        assert spec.input_size[0] >= 320 and spec.scale in ("255", "max")
        assert spec.licence and spec.sources


def test_unknown_model_names_the_known_ones():
    with pytest.raises(UnknownModelError) as caught:
        Catalog.load().get("nope")
    assert "isnet-medium" in str(caught.value) and "models list" in str(caught.value)


def test_malformed_entries_are_rejected():
    entry = {"family": "resnet", "input_size": [1, 1], "mean": [0, 0, 0], "std": [1, 1, 1],
             "output": "minmax", "sha256": "0" * 64}
    with pytest.raises(ValueError, match="family"):
        spec_from_dict("x", entry)
    with pytest.raises(ValueError, match="output"):
        spec_from_dict("x", {**entry, "family": "isnet", "output": "softmax"})
