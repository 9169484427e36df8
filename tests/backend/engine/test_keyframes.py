"""Keyframe looks in the engine: the same conditionings as the stock pipeline's `images` list
(bit-identical frames on the tiny bundle), and bad keyframes refused before any model loads."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from backend.cli import main
from backend.engine import ControlInput, Engine, KeyframeImage
from backend.video import write_lossless_video
from shared.errors import UserError
from shared.job_spec import GenerationSpec

from .conftest import control_video, stock_ic_lora

W = H = 128  # the smallest size the factor-2 IC-LoRA allows
F = 17  # the shortest clip with a keyframe index past frame 1: usable indices 0, 1, 9
FPS = "24"


@pytest.fixture
def no_engine_load(monkeypatch):
    def refuse(self):
        raise AssertionError("models were loaded before the keyframes were validated")

    monkeypatch.setattr(Engine, "load", refuse)


@pytest.mark.slow
def test_keyframes_equal_the_stock_images_list(tmp_path, no_cuda_sync, bundle23, engine23):
    """Frame 9 (keyframe tokens appended) and frame 0 (latent replaced), unequal strengths, with an
    attention mask on the IC-LoRA's reference tokens appended after them: both stages, bit-identical."""
    rng = np.random.default_rng(21)
    video = control_video(F, H // 4, W // 4, seed=21)
    mask = np.zeros((F, H // 2, W // 2), np.float32)
    mask[:, :, : W // 4] = 0.9
    images = [rng.integers(0, 256, (H, W, 3), dtype=np.uint8) for _ in range(2)]
    spec = GenerationSpec(
        prompt="keyframe looks",
        seed=21,
        width=W,
        height=H,
        frames=F,
        fps=FPS,
        control_kind="depth",
        attention_strength=0.8,
        keyframes=[{"frame": 9, "strength": 0.9}, {"frame": 0, "strength": 0.6}],
    )
    keys = [KeyframeImage(image) for image in images]
    media = engine23.generate(spec, ControlInput(video=video, mask=mask, keyframes=keys))
    stock_images = [(image, entry["frame"], entry["strength"]) for entry, image in zip(spec.keyframes, images)]
    stock_frames, stock_audio = stock_ic_lora(bundle23, tmp_path, spec, video, mask, stock_images)
    assert media.video.shape == stock_frames.shape == (F, H, W, 3)
    assert np.array_equal(media.video, stock_frames), (
        f"max |diff| = {np.abs(media.video.astype(int) - stock_frames.astype(int)).max()}"
    )
    assert np.array_equal(media.audio, stock_audio)

    # The keyframes change the result (the images are not silently dropped).
    plain = engine23.generate(
        GenerationSpec(**{**spec.to_json(), "keyframes": []}), ControlInput(video=video, mask=mask)
    )
    assert not np.array_equal(plain.video, media.video)


@pytest.mark.parametrize(
    "keyframes, match",
    [
        (
            [{"frame": 17, "strength": 1.0}],
            r"frame 17 is outside the job's frames 0..16; the nearest valid frame is 16",
        ),
        ([{"frame": 9, "strength": 1.5}], r"strength must be a number in \[0, 1\]"),
        ([{"frame": 9}, {"frame": 9}], r"frame 9 is given twice"),
    ],
)
def test_bad_keyframes_refused_before_models_load(bundle23, no_engine_load, keyframes, match):
    engine = Engine(bundle23, device="cpu")
    video = control_video(F, H // 4, W // 4)
    with pytest.raises(UserError, match=match) as info:
        spec = GenerationSpec(prompt="x", width=W, height=H, fps=FPS, control_kind="depth", keyframes=keyframes)
        engine.generate(spec, ControlInput(video=video, keyframes=[KeyframeImage(video[0])] * len(keyframes)))
    assert info.value.field == "keyframes"
    assert not engine.loaded


def test_keyframe_at_frame_0_and_a_first_frame_conflict(bundle23, no_engine_load):
    engine = Engine(bundle23, device="cpu")
    video = control_video(F, H // 4, W // 4)
    image = np.zeros((H, W, 3), np.uint8)
    spec = GenerationSpec(
        prompt="x", width=W, height=H, fps=FPS, control_kind="depth", keyframes=[{"frame": 0, "strength": 0.5}]
    )
    with pytest.raises(UserError, match="frame 0 has a keyframe image and a first-frame image"):
        engine.plan(spec, ControlInput(video=video, first_frame=image, keyframes=[KeyframeImage(image)]))


def test_missing_keyframe_images_refused_before_models_load(bundle23, no_engine_load):
    engine = Engine(bundle23, device="cpu")
    video = control_video(F, H // 4, W // 4)
    spec = GenerationSpec(
        prompt="x", width=W, height=H, fps=FPS, control_kind="depth", keyframes=[{"frame": 9, "strength": 1.0}]
    )
    engine.plan(spec, ControlInput(video=video))  # planning needs no pixels (the server plans at submit)
    with pytest.raises(UserError, match="1 keyframe\\(s\\) but 0 image\\(s\\)"):
        engine.generate(spec, ControlInput(video=video))


@pytest.fixture
def cli_files(tmp_path):
    video = write_lossless_video(tmp_path / "control.mkv", control_video(F, 128, 128), FPS)
    Image.fromarray(np.full((64, 64, 3), 90, np.uint8)).save(tmp_path / "look.png")
    return tmp_path, video


@pytest.mark.parametrize(
    "keyframe, message",
    [
        ("40=look.png@0.5", "outside the job's frames 0..16"),
        ("40=look.png@0.5", "the nearest valid frame is 16"),
        ("nine=look.png", "the frame 'nine' is not an integer"),
        ("9", "expected FRAME=IMAGE[@STRENGTH]"),
        ("9=look.png@2", "strength must be in [0, 1]"),
        ("9=missing.png", "the image is not found"),
    ],
)
def test_cli_keyframe_refusals(tiny_bundle, cli_files, capsys, no_engine_load, monkeypatch, keyframe, message):
    tmp, video = cli_files
    monkeypatch.chdir(tmp)
    argv = ["generate", "--model", str(tiny_bundle), "--control", str(video), "--kind", "depth"]
    argv += ["--prompt", "x", "--out", str(tmp / "out.mp4"), "--device", "cpu", "--quiet", "--keyframe", keyframe]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err
    assert not (tmp / "out.mp4").exists()


@pytest.mark.slow
def test_cli_keyframes_reach_the_sidecar(tiny_bundle, cli_files, capsys):
    import hashlib

    tmp, video = cli_files
    out = tmp / "clip.mp4"
    argv = ["generate", "--model", str(tiny_bundle), "--control", str(video), "--kind", "depth", "--prompt", "x"]
    argv += ["--out", str(out), "--device", "cpu", "--quiet", "--preview", "--frames", "9"]
    argv += ["--keyframe", f"1={tmp / 'look.png'}@0.75", "--keyframe", f"0={tmp / 'look.png'}"]
    assert main(argv) == 0, capsys.readouterr().err
    record = json.loads(out.with_suffix(".json").read_text())
    sha = hashlib.sha256((tmp / "look.png").read_bytes()).hexdigest()
    assert record["spec"]["keyframes"] == [{"frame": 1, "strength": 0.75}, {"frame": 0, "strength": 1.0}]
    keys = record["control"]["keyframes"]
    assert [(k["frame"], k["strength"], k["image_sha256"]) for k in keys] == [(1, 0.75, sha), (0, 1.0, sha)]
    assert keys[0]["conditioning"].startswith("keyframe index") and keys[1]["conditioning"].startswith("latent")
    assert str(tmp) not in out.with_suffix(".json").read_text()


@pytest.mark.parametrize("frames", [9, 17, 33, 121])
def test_aligned_frames_are_where_official_keyframe_tokens_meet_a_latent_frame(frames):
    """`aligned_keyframe_frames` (shared/keyframes.py), measured on ltx-core itself: the time bounds
    ltx-core's `VideoConditionByKeyframeIndex` gives an image at frame k equal the bounds of one of
    the video's latent frames exactly at those k > 0, and at no other k inside the clip."""
    from ltx_core.conditioning import VideoConditionByKeyframeIndex
    from ltx_core.types import VideoLatentShape, VideoPixelShape
    from ltx_core.tools import VideoLatentTools
    from ltx_pipelines.utils.types import PipelineComponents

    from shared.keyframes import aligned_keyframe_frames

    components = PipelineComponents(dtype=torch.float32, device=torch.device("cpu"))
    pixel = VideoPixelShape(batch=1, frames=frames, width=64, height=64, fps=24.0)
    shape = VideoLatentShape.from_pixel_shape(
        shape=pixel, latent_channels=components.video_latent_channels, scale_factors=components.video_scale_factors
    )
    tools = VideoLatentTools(components.video_patchifier, shape, pixel.fps)
    state = tools.create_initial_state(torch.device("cpu"), torch.float32)
    grid = {tuple(t) for t in state.positions[0, 0].tolist()}  # (start, end) time bounds of every token
    image = torch.zeros(1, shape.channels, 1, shape.height, shape.width)
    meets = []
    for k in range(1, frames):
        after = VideoConditionByKeyframeIndex(keyframes=image, frame_idx=k, strength=1.0).apply_to(state, tools)
        appended = {tuple(t) for t in after.positions[0, 0, state.latent.shape[1] :].tolist()}
        if appended <= grid:
            meets.append(k)
    assert [0] + meets == aligned_keyframe_frames(frames)


def test_the_memory_plan_counts_keyframe_tokens():
    """Each keyframe after frame 0 adds one latent frame of tokens to both stages (frame 0 replaces)."""
    from backend.memory.activations import JobShape

    plain, keyed = JobShape(768, 512, 121), JobShape(768, 512, 121, keyframes=2)
    assert keyed.stage1_tokens - plain.stage1_tokens == 2 * (384 // 32) * (256 // 32)
    assert keyed.stage2_tokens - plain.stage2_tokens == 2 * (768 // 32) * (512 // 32)
