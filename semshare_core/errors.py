"""Typed exceptions of the library. The app turns each into a message for the user."""


class SemShareError(Exception):
    """Base class of every error this library raises on bad input or configuration."""


class InvalidParameterError(SemShareError, ValueError):
    """A pipeline parameter is out of its valid range."""


class EmptyPromptError(SemShareError, ValueError):
    """A prompt is empty or contains only whitespace or control characters."""


class PromptTooLongError(SemShareError, ValueError):
    """A prompt has more tokens than the model's context or the configured limit."""

    def __init__(self, message: str, n_tokens: int, limit: int):
        super().__init__(message)
        self.n_tokens = n_tokens
        self.limit = limit


class UnsupportedModelError(SemShareError):
    """The model's architecture cannot run through the SemShareKV engine."""


class ModelLoadError(SemShareError):
    """The model or its tokenizer could not be loaded."""


class InputDecodeError(SemShareError, ValueError):
    """Uploaded bytes are not text in a supported encoding."""
