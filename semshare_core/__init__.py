"""SemShareKV: reuse the KV cache of one prompt for a semantically similar prompt.

Typical use:

    import semshare_core as ss
    bundle = ss.load_model()                    # the embedded SmolLM2-135M-Instruct
    result = ss.compare(bundle, reference_text, target_text, ss.PipelineParams())
    print(result.summary())
"""

from .errors import (
    EmptyPromptError,
    InputDecodeError,
    InvalidParameterError,
    MemoryBudgetError,
    ModelLoadError,
    ModelNotAllowedError,
    PromptTooLongError,
    RunTimeoutError,
    SemShareError,
    SettingsError,
    UnsupportedModelError,
)
from .model import EMBEDDED_MODEL_ID, ModelBundle, load_model
from .params import PipelineParams
from .pipeline import compare
from .prompts import DEFAULT_INSTRUCTION, build_prompt
from . import textio
from .result import PromptInfo, RunResult, TokenProb

__all__ = [
    "DEFAULT_INSTRUCTION",
    "EMBEDDED_MODEL_ID",
    "EmptyPromptError",
    "InputDecodeError",
    "InvalidParameterError",
    "MemoryBudgetError",
    "ModelBundle",
    "ModelLoadError",
    "ModelNotAllowedError",
    "PipelineParams",
    "PromptInfo",
    "PromptTooLongError",
    "RunResult",
    "RunTimeoutError",
    "SemShareError",
    "SettingsError",
    "TokenProb",
    "UnsupportedModelError",
    "build_prompt",
    "compare",
    "load_model",
]
