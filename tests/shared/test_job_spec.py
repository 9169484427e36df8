import json

import pytest

from shared.errors import UserError
from shared.job_spec import GenerationSpec


def test_defaults_and_round_trip():
    spec = GenerationSpec(
        prompt="a red fox runs", seed=7, frames=121, fps="23.976", loras=[{"name": "style", "strength": 0.5}]
    )
    obj = spec.to_json()
    assert obj["fps"] == "24000/1001"
    assert obj["attention_strength"] == 1.0 and obj["use_first_frame"] is True and obj["preview"] is False
    assert GenerationSpec.from_json(obj) == spec
    assert GenerationSpec.from_json(spec.to_json_text()) == spec
    assert json.loads(spec.to_json_text()) == obj


def test_unknown_keys_refused_by_name():
    with pytest.raises(UserError) as err:
        GenerationSpec.from_json({"prompt": "x", "sed": 3, "output_path": "/etc"})
    assert err.value.field == "output_path"
    assert "sed" in str(err.value) and "output_path" in str(err.value)


@pytest.mark.parametrize(
    "field, value, needle",
    [
        ("prompt", "  ", "prompt"),
        ("seed", -1, "out of range"),
        ("seed", 1.5, "integer"),
        ("width", 0, "out of range"),
        ("frames", 120, "121"),
        ("fps", "0", "out of range"),
        ("control_kind", "normals", "depth"),
        ("attention_strength", 1.5, "[0.0, 1.0]"),
        ("conditioning_strength", float("nan"), "number"),
        ("ic_lora_strength", -0.1, "range"),
        ("loras", [{"name": "../x.safetensors"}], "no paths"),
        ("loras", [{"nme": "a"}], "entry 0"),
        ("preview", "yes", "true or false"),
    ],
)
def test_validation_names_field(field, value, needle):
    obj = {"prompt": "a scene", field: value}
    with pytest.raises(UserError) as err:
        GenerationSpec.from_json(obj)
    assert err.value.field == field
    assert needle in str(err.value)


def test_bad_json_text():
    with pytest.raises(UserError) as err:
        GenerationSpec.from_json("{prompt:")
    assert err.value.field == "spec"
    with pytest.raises(UserError):
        GenerationSpec.from_json("[1, 2]")
    with pytest.raises(UserError, match="prompt"):
        GenerationSpec.from_json({"seed": 1})
