"""The extension manifest has every field Blender requires, with valid values."""

from __future__ import annotations

import tomllib

import pytest

from backend.commands.build_addon import ManifestError, check_manifest, load_manifest
from tests.conftest import REPO_ROOT


def _manifest() -> dict:
    with open(REPO_ROOT / "blender_manifest.toml", "rb") as fh:
        return tomllib.load(fh)


def test_manifest_required_fields():
    m = _manifest()
    assert m["schema_version"] == "1.0.0"
    assert m["id"] == "ltx_scene_control"
    assert m["type"] == "add-on"
    assert m["name"] == "LTX Scene Control"
    assert m["maintainer"]
    assert m["license"] == ["SPDX:GPL-3.0-or-later"]
    major, minor, patch = (int(x) for x in m["version"].split("."))
    assert (major, minor, patch) >= (0, 1, 0)
    assert tuple(int(x) for x in m["blender_version_min"].split(".")) >= (4, 2, 0)
    assert 0 < len(m["tagline"]) <= 64 and m["tagline"][-1].isalnum()
    assert set(m["permissions"]) == {"network", "files"}
    for reason in m["permissions"].values():
        assert 0 < len(reason) <= 64 and reason[-1].isalnum()
    assert load_manifest(REPO_ROOT) == m


def test_manifest_version_matches_pyproject():
    with open(REPO_ROOT / "pyproject.toml", "rb") as fh:
        assert tomllib.load(fh)["project"]["version"] == _manifest()["version"]


@pytest.mark.parametrize(
    "change, field",
    [
        ({"tagline": "x" * 65}, "tagline"),
        ({"tagline": "Generate video."}, "tagline"),
        ({"version": "1.0"}, "version"),
        ({"blender_version_min": "4.1.0"}, "blender_version_min"),
        ({"license": "GPL"}, "license"),
        ({"type": "theme"}, "type"),
        ({"permissions": {"network": "Talks to the backend."}}, "permissions.network"),
        ({"permissions": {"internet": "Talks to the backend"}}, "permissions"),
    ],
)
def test_manifest_check_refuses(change, field):
    bad = {**_manifest(), **change}
    with pytest.raises(ManifestError) as info:
        check_manifest(bad)
    assert info.value.field == field


def test_manifest_check_names_missing_field():
    bad = _manifest()
    del bad["maintainer"]
    with pytest.raises(ManifestError, match="missing required field.*maintainer"):
        check_manifest(bad)
