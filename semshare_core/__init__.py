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
    ModelLoadError,
    PromptTooLongError,
    SemShareError,
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
    "ModelBundle",
    "ModelLoadError",
    "PipelineParams",
    "PromptInfo",
    "PromptTooLongError",
    "RunResult",
    "SemShareError",
    "TokenProb",
    "UnsupportedModelError",
    "build_prompt",
    "compare",
    "load_model",
]
