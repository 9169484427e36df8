"""The tiny model bundle: exact official format, loads through the official builders, deterministic,
and runs through the unmodified `ltx_pipelines.ic_lora.ICLoraPipeline` (slow)."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import ltx_pipelines  # noqa: F401  (ltx_core.loader before ltx_core.quantization)
from backend.bundle import Bundle, read_safetensors_header
from backend.gemma_config import prepare_gemma_config
from backend.tiny_model import make_tiny_model

REPO = Path(__file__).resolve().parents[2]
LTX_SCENE = REPO / ".venv" / "bin" / "ltx-scene"


def _digests(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _ledger(bundle: Bundle, loras=()):
    from ltx_pipelines.utils.model_ledger import ModelLedger

    prepare_gemma_config(bundle)
    return ModelLedger(
        dtype=torch.bfloat16,
        device=torch.device("cpu"),
        checkpoint_path=str(bundle.checkpoint),
        gemma_root_path=str(bundle.gemma_root),
        spatial_upsampler_path=str(bundle.upsampler),
        loras=tuple(loras),
    )


def _lora_ops(bundle: Bundle, kind: str = "depth", strength: float = 1.0):
    from ltx_core.loader import LTXV_LORA_COMFY_RENAMING_MAP, LoraPathStrengthAndSDOps

    return [LoraPathStrengthAndSDOps(str(bundle.ic_lora(kind).path), strength, LTXV_LORA_COMFY_RENAMING_MAP)]


# --- format -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fixture, version_prefix, files",
    [
        (
            "tiny_bundle",
            "2.3",
            {
                "ltx-2.3-22b-distilled-tiny.safetensors",
                "ltx-2.3-spatial-upscaler-x2-tiny.safetensors",
                "ltx-2.3-22b-ic-lora-union-control-ref0.5-tiny.safetensors",
            },
        ),
        (
            "tiny_bundle_ltx2",
            "2.0",
            {
                "ltx-2-19b-distilled-tiny.safetensors",
                "ltx-2-spatial-upscaler-x2-tiny.safetensors",
                "ltx-2-19b-ic-lora-union-control-ref0.5-tiny.safetensors",
            },
        ),
    ],
)
def test_official_file_layout(request, fixture, version_prefix, files):
    bundle_path = request.getfixturevalue(fixture)
    folder = bundle_path.parent
    assert {p.name for p in folder.glob("*.safetensors")} == files
    assert sorted(p.name for p in (folder / "gemma").iterdir()) == [
        "config.json",
        "model.safetensors",
        "preprocessor_config.json",
        "special_tokens_map.json",
        "tokenizer.json",
        "tokenizer.model",
        "tokenizer_config.json",
    ]
    bundle = Bundle.load(bundle_path)
    tensors, meta = read_safetensors_header(bundle.checkpoint)
    assert meta["model_version"].startswith(version_prefix)
    config = json.loads(meta["config"])
    assert sorted(config) == ["audio_vae", "transformer", "vae", "vocoder"]
    assert {entry["dtype"] for entry in tensors.values()} == {"BF16"}
    prefixes = {k.split(".")[0] + "." + k.split(".")[1] for k in tensors}
    assert {
        "model.diffusion_model",
        "vae.encoder",
        "vae.decoder",
        "vae.per_channel_statistics",
        "audio_vae.encoder",
        "audio_vae.decoder",
        "audio_vae.per_channel_statistics",
        "text_embedding_projection.aggregate_embed"
        if version_prefix == "2.0"
        else "text_embedding_projection.video_aggregate_embed",
    } <= prefixes
    assert any(k.startswith("vocoder.") for k in tensors)
    assert any(k.startswith("model.diffusion_model.video_embeddings_connector.") for k in tensors)
    up_tensors, up_meta = read_safetensors_header(bundle.upsampler)
    assert json.loads(up_meta["config"])["in_channels"] == 128
    assert "initial_conv.weight" in up_tensors
    lora_tensors, lora_meta = read_safetensors_header(bundle.ic_lora("tracks").path)
    assert lora_meta["reference_downscale_factor"] == "2"
    assert all(k.startswith("diffusion_model.transformer_blocks.") for k in lora_tensors)
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    assert 5e6 < size < 60e6, size


def test_architecture_detected_by_official_code(tiny_bundle, tiny_bundle_ltx2):
    from ltx_pipelines.utils.constants import LTX_2_3_PARAMS, LTX_2_PARAMS, detect_params

    assert detect_params(str(Bundle.load(tiny_bundle).checkpoint)) is LTX_2_3_PARAMS
    assert detect_params(str(Bundle.load(tiny_bundle_ltx2).checkpoint)) is LTX_2_PARAMS


def test_bundle_json_written(tiny_bundle):
    data = json.loads(tiny_bundle.read_text())
    assert data["format"] == "ltx-scene-bundle" and data["version"] == 1
    assert data["architecture"] == "ltx-2.3" and data["tiny"] is True
    assert sorted(data["ic_loras"]) == ["canny", "depth", "pose", "tracks"]
    assert len({entry["path"] for entry in data["ic_loras"].values()}) == 1  # one IC-LoRA serves every kind
    assert data["quantization"] == "none" and data["loras"] == {}
    assert "noise" in data["note"]


# --- determinism --------------------------------------------------------------------------------------


def test_same_seed_same_bytes(tiny_bundle, tmp_path):
    again = make_tiny_model(tmp_path / "again", architecture="ltx-2.3", seed=0)
    assert _digests(again.parent) == _digests(tiny_bundle.parent)


def test_other_seed_other_weights(tiny_bundle, tmp_path):
    other = make_tiny_model(tmp_path / "seed1", architecture="ltx-2.3", seed=1)
    a, b = _digests(tiny_bundle.parent), _digests(other.parent)
    assert a.keys() == b.keys()
    for name in (
        "ltx-2.3-22b-distilled-tiny.safetensors",
        "ltx-2.3-spatial-upscaler-x2-tiny.safetensors",
        "ltx-2.3-22b-ic-lora-union-control-ref0.5-tiny.safetensors",
        "gemma/model.safetensors",
    ):
        assert a[name] != b[name], name
    assert a["gemma/tokenizer.json"] == b["gemma/tokenizer.json"]  # the tokenizer does not depend on the seed


def test_bad_arguments_refused(tmp_path):
    from shared.errors import UserError

    with pytest.raises(UserError, match=r"architecture: 'ltx-3' is not known; choose one of ltx-2.3, ltx-2"):
        make_tiny_model(tmp_path / "x", architecture="ltx-3")
    with pytest.raises(UserError, match=r"seed: expected a non-negative integer, got -1"):
        make_tiny_model(tmp_path / "x", seed=-1)


# --- the official loaders -------------------------------------------------------------------------------


@pytest.mark.parametrize("fixture", ["tiny_bundle", "tiny_bundle_ltx2"])
def test_every_component_builds_with_official_builders(request, fixture):
    from safetensors import safe_open

    bundle = Bundle.load(request.getfixturevalue(fixture))
    ledger = _ledger(bundle)
    models = {
        "transformer": ledger.transformer(),
        "video_encoder": ledger.video_encoder(),
        "video_decoder": ledger.video_decoder(),
        "audio_encoder": ledger.audio_encoder(),
        "audio_decoder": ledger.audio_decoder(),
        "vocoder": ledger.vocoder(),
        "spatial_upsampler": ledger.spatial_upsampler(),
        "text_encoder": ledger.text_encoder(),
        "embeddings_processor": ledger.gemma_embeddings_processor(),
    }
    for name, model in models.items():
        meta = [n for n, t in [*model.named_parameters(), *model.named_buffers()] if t.device.type == "meta"]
        assert meta == [], f"{name}: not loaded from the files: {meta[:5]}"
    # the loaded transformer holds the file's values (nothing silently skipped)
    with safe_open(str(bundle.checkpoint), framework="pt") as f:
        stored = f.get_tensor("model.diffusion_model.patchify_proj.weight")
    assert torch.equal(models["transformer"].velocity_model.patchify_proj.weight, stored)
    assert models["text_encoder"].model.config.text_config.hidden_size == 64


def test_ic_lora_keys_match_transformer_weights_and_fuse(tiny_bundle):
    from safetensors import safe_open

    bundle = Bundle.load(tiny_bundle)
    plain = _ledger(bundle).transformer().velocity_model.state_dict()
    fused = _ledger(bundle, _lora_ops(bundle, strength=1.0)).transformer().velocity_model.state_dict()
    with safe_open(str(bundle.ic_lora("depth").path), framework="pt") as f:
        keys = sorted(k for k in f.keys() if k.endswith(".lora_A.weight"))
        assert len(keys) == 24  # 2 blocks x (attn1, attn2: q k v out gate) + ff (2)
        for key in keys:
            target = key[len("diffusion_model.") : -len(".lora_A.weight")] + ".weight"
            assert target in plain, target
            a = f.get_tensor(key)
            b = f.get_tensor(key.replace("lora_A", "lora_B"))
            assert b.abs().min() > 0 or b.abs().max() > 0
            expected = (torch.matmul(b, a) + plain[target]).to(torch.bfloat16)
            assert torch.equal(fused[target], expected), target
            assert not torch.equal(fused[target], plain[target]), target
    untouched = "transformer_blocks.0.audio_attn1.to_q.weight"
    assert torch.equal(fused[untouched], plain[untouched])


def test_fp8_cast_quantization_loads_with_ic_lora(tiny_bundle):
    """The bundle's `quantization: fp8-cast` path: the official policy casts the block linears to
    float8 at load, with the IC-LoRA fused first."""
    from ltx_core.quantization import QuantizationPolicy
    from ltx_pipelines.utils.model_ledger import ModelLedger

    bundle = Bundle.load(tiny_bundle)
    prepare_gemma_config(bundle)
    ledger = ModelLedger(
        dtype=torch.bfloat16,
        device=torch.device("cpu"),
        checkpoint_path=str(bundle.checkpoint),
        loras=tuple(_lora_ops(bundle)),
        quantization=QuantizationPolicy.fp8_cast(),
    )
    model = ledger.transformer().velocity_model
    assert model.transformer_blocks[0].attn1.to_q.weight.dtype == torch.float8_e4m3fn
    assert model.patchify_proj.weight.dtype == torch.bfloat16


# --- the tiny Gemma --------------------------------------------------------------------------------------


def test_gemma_config_hook_patches_and_restores(tiny_bundle):
    import dataclasses

    from ltx_core.text_encoders.gemma.config import GEMMA3_CONFIG_FOR_LTX

    from backend.gemma_config import _assign

    before = dataclasses.asdict(GEMMA3_CONFIG_FOR_LTX)  # leave the process as this test found it
    bundle = Bundle.load(tiny_bundle)

    class Real:
        tiny = False
        gemma_root = bundle.gemma_root

    try:
        prepare_gemma_config(bundle)
        assert GEMMA3_CONFIG_FOR_LTX.text_config.hidden_size == 64
        assert GEMMA3_CONFIG_FOR_LTX.text_config.num_hidden_layers == 2
        assert GEMMA3_CONFIG_FOR_LTX.vision_config.image_size == 28
        assert GEMMA3_CONFIG_FOR_LTX.image_token_index == 6
        prepare_gemma_config(bundle)  # idempotent
        assert GEMMA3_CONFIG_FOR_LTX.text_config.hidden_size == 64

        prepare_gemma_config(Real)
        assert GEMMA3_CONFIG_FOR_LTX.text_config.hidden_size == 3840
        assert GEMMA3_CONFIG_FOR_LTX.text_config.num_hidden_layers == 48
        assert GEMMA3_CONFIG_FOR_LTX.text_config.vocab_size == 262208
        assert GEMMA3_CONFIG_FOR_LTX.image_token_index == 262144
        assert GEMMA3_CONFIG_FOR_LTX.text_config.rope_scaling.factor == 8.0
        assert GEMMA3_CONFIG_FOR_LTX.vision_config.image_size == 896
    finally:
        _assign(GEMMA3_CONFIG_FOR_LTX, before)


def test_tokenizer_distinguishes_prompts(tiny_bundle):
    from ltx_core.text_encoders.gemma.tokenizer import LTXVGemmaTokenizer

    tok = LTXVGemmaTokenizer(str(Bundle.load(tiny_bundle).gemma_root), 1024)
    red = tok.tokenize_with_weights("a red ball")["gemma"]
    blue = tok.tokenize_with_weights("a blue ball")["gemma"]
    assert len(red) == 1024 and red != blue
    ids = [int(t) for t, w in red if int(w) == 1]
    assert ids[0] == 2  # <bos>
    assert tok.tokenizer.decode(ids, skip_special_tokens=True) == "a red ball"
    assert (tok.tokenizer.boi_token, tok.tokenizer.eoi_token, tok.tokenizer.image_token_id) == (
        "<start_of_image>",
        "<end_of_image>",
        6,
    )


def test_sentencepiece_model_lists_the_same_vocabulary(tiny_bundle):
    """tokenizer.model is a real SentencePiece ModelProto: decode its pieces (protobuf field 1)."""
    root = Bundle.load(tiny_bundle).gemma_root
    data = (root / "tokenizer.model").read_bytes()
    pieces, pos = [], 0

    def varint(p):
        value, shift = 0, 0
        while True:
            byte = data[p]
            value |= (byte & 0x7F) << shift
            p += 1
            shift += 7
            if not byte & 0x80:
                return value, p

    while pos < len(data):
        tag, pos = varint(pos)
        length, pos = varint(pos)
        body = data[pos : pos + length]
        pos += length
        if tag == (1 << 3 | 2):
            assert body[0] == (1 << 3 | 2)
            pieces.append(body[2 : 2 + body[1]].decode())
    vocab = json.loads((root / "tokenizer.json").read_text())["model"]["vocab"]
    assert pieces == sorted(vocab, key=vocab.get)
    assert len(pieces) == 266


@pytest.mark.slow
def test_fresh_process_builds_text_encoder_after_hook(tiny_bundle):
    """In a new interpreter (no patch applied yet) the documented hook is all the engine needs."""
    script = (
        "import sys, torch, ltx_pipelines\n"
        "from backend.bundle import Bundle\n"
        "from backend.gemma_config import prepare_gemma_config\n"
        "from ltx_pipelines.utils.model_ledger import ModelLedger\n"
        "b = Bundle.load(sys.argv[1]); prepare_gemma_config(b)\n"
        "led = ModelLedger(dtype=torch.bfloat16, device=torch.device('cpu'), checkpoint_path=str(b.checkpoint),"
        " gemma_root_path=str(b.gemma_root))\n"
        "enc = led.text_encoder(); proc = led.gemma_embeddings_processor()\n"
        "with torch.inference_mode():\n"
        "    h, m = enc.encode('a red ball'); out = proc.process_hidden_states(h, m)\n"
        "print(len(h), tuple(h[-1].shape), tuple(out.video_encoding.shape))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(tiny_bundle)], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "3 (1, 1024, 64) (1, 1024, 64)"


# --- the unmodified stock pipeline (slow) ------------------------------------------------------------------


def _control_video(path: Path, frames: int = 17, size: int = 128) -> Path:
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("ffv1", rate=24)
        stream.width = stream.height = size
        stream.pix_fmt = "yuv444p"
        for i in range(frames):
            img = np.zeros((size, size, 3), np.uint8)
            img[:, (i * 6) % size : (i * 6) % size + 24] = 255
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def _run_stock(bundle: Bundle, control: Path, loras, seed: int = 0):
    from ltx_pipelines.ic_lora import ICLoraPipeline

    prepare_gemma_config(bundle)
    pipeline = ICLoraPipeline(
        str(bundle.checkpoint), str(bundle.upsampler), str(bundle.gemma_root), loras, device=torch.device("cpu")
    )
    with torch.inference_mode():
        video, audio = pipeline(
            prompt="a red ball rolls",
            seed=seed,
            height=128,
            width=128,
            num_frames=17,
            frame_rate=24.0,
            images=[],
            video_conditioning=[(str(control), 1.0)],
        )
        frames = torch.cat(list(video), dim=0)
    return pipeline, frames, audio


@pytest.fixture
def cpu_sync(monkeypatch):
    if not torch.cuda.is_available():  # ic_lora.py calls torch.cuda.synchronize() unconditionally
        monkeypatch.setattr(torch.cuda, "synchronize", lambda *a, **k: None)


@pytest.fixture(scope="module")
def control_video(tmp_path_factory) -> Path:
    return _control_video(tmp_path_factory.mktemp("control") / "control.mkv")


_FIRST_RUNS: dict[str, tuple] = {}


@pytest.mark.slow
@pytest.mark.parametrize(
    "fixture, sampling_rate, samples",
    [
        ("tiny_bundle", 48000, 33120),
        ("tiny_bundle_ltx2", 24000, 16560),
    ],
)
def test_stock_ic_lora_pipeline_runs(request, cpu_sync, control_video, fixture, sampling_rate, samples):
    bundle = Bundle.load(request.getfixturevalue(fixture))
    pipeline, frames, audio = _run_stock(bundle, control_video, _lora_ops(bundle))
    _FIRST_RUNS[fixture] = (frames, audio)
    assert pipeline.reference_downscale_factor == 2
    assert frames.shape == (17, 128, 128, 3) and frames.dtype == torch.uint8
    assert frames.float().std() > 10  # noise, not a constant image
    assert tuple(audio.waveform.shape) == (2, samples) and audio.sampling_rate == sampling_rate
    assert torch.isfinite(audio.waveform).all() and 0.001 < audio.waveform.float().abs().mean() < 0.5


@pytest.mark.slow
def test_stock_pipeline_ic_lora_matters(tiny_bundle, cpu_sync, control_video):
    """The IC-LoRA's weights reach the stock pipeline's output. (That the stock pipeline repeats itself
    bit for bit is pinned by the engine's parity tests, which compare against a fresh stock run.)"""
    bundle = Bundle.load(tiny_bundle)
    if "tiny_bundle" not in _FIRST_RUNS:
        _FIRST_RUNS["tiny_bundle"] = _run_stock(bundle, control_video, _lora_ops(bundle))[1:]
    frames, _ = _FIRST_RUNS["tiny_bundle"]
    _, without_lora, _ = _run_stock(bundle, control_video, [])
    assert not torch.equal(frames, without_lora)


# --- the command ----------------------------------------------------------------------------------------


@pytest.mark.slow
def test_make_tiny_model_command(tmp_path):
    result = subprocess.run(
        [str(LTX_SCENE), "make-tiny-model", str(tmp_path / "m"), "--architecture", "ltx-2", "--seed", "3"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "everything generated with it is NOISE" in result.stdout
    assert "ltx-scene models download ltx-2.3" in result.stdout
    assert "ltx-2-19b-distilled-tiny.safetensors" in result.stdout
    bundle = Bundle.load(tmp_path / "m")
    assert (bundle.architecture, bundle.tiny) == ("ltx-2", True)
    assert json.loads((tmp_path / "m" / "bundle.json").read_text())["seed"] == 3
    assert _digests(tmp_path / "m") == _digests(make_tiny_model(tmp_path / "n", "ltx-2", seed=3).parent)


def test_make_tiny_model_command_refuses_bad_seed(tmp_path):
    result = subprocess.run(
        [str(LTX_SCENE), "make-tiny-model", str(tmp_path / "m"), "--seed", "-2"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == "error: --seed: expected a non-negative integer, got -2"
    assert not (tmp_path / "m").exists()


def test_refuses_to_overwrite_a_real_bundle(tmp_path):
    from shared.errors import UserError

    (tmp_path / "bundle.json").write_text(json.dumps({"format": "ltx-scene-bundle", "tiny": False}))
    with pytest.raises(UserError, match=r"already holds a model bundle that is not a tiny test model"):
        make_tiny_model(tmp_path)
    assert json.loads((tmp_path / "bundle.json").read_text())["tiny"] is False
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bundle.json"]
