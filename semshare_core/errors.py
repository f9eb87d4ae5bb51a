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


class SettingsError(SemShareError, ValueError):
    """An operator setting (environment variable or config file entry) has an invalid value."""

    def __init__(self, message: str, variable: str):
        super().__init__(message)
        self.variable = variable


class ModelNotAllowedError(SemShareError):
    """The operator settings do not allow this model."""


class MemoryBudgetError(SemShareError):
    """A run's estimated memory exceeds the operator's budget."""

    def __init__(self, message: str, estimate_bytes: int, budget_bytes: int):
        super().__init__(message)
        self.estimate_bytes = estimate_bytes
        self.budget_bytes = budget_bytes


class RunTimeoutError(SemShareError):
    """A run went past the operator's time limit. It is checked between pipeline phases."""

    def __init__(self, message: str, elapsed_s: float, limit_s: float):
        super().__init__(message)
        self.elapsed_s = elapsed_s
        self.limit_s = limit_s
