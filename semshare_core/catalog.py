"""Models the explorer suggests, with family and size, for the app's model picker."""

from __future__ import annotations

from dataclasses import dataclass

from .model import EMBEDDED_MODEL_ID


@dataclass(frozen=True)
class ModelInfo:
    model_id: str
    family: str
    parameters: str
    note: str


SUGGESTED_MODELS = (
    ModelInfo(EMBEDDED_MODEL_ID, "Llama (SmolLM2)", "135M", "ships with the project; no network needed"),
    ModelInfo("HuggingFaceTB/SmolLM2-360M-Instruct", "Llama (SmolLM2)", "360M", "hub download, about 0.7 GB"),
    ModelInfo("Qwen/Qwen2.5-0.5B-Instruct", "Qwen2", "494M", "hub download, about 1 GB"),
    ModelInfo("TinyLlama/TinyLlama-1.1B-Chat-v1.0", "Llama", "1.1B", "hub download, about 2.2 GB"),
    ModelInfo("meta-llama/Llama-3.2-1B-Instruct", "Llama 3.2 (llama3 RoPE)", "1.2B",
              "gated on the hub: needs an accepted licence and a token"),
    ModelInfo("Qwen/Qwen2.5-1.5B-Instruct", "Qwen2", "1.5B", "hub download, about 3 GB"),
)
