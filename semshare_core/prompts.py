"""Prompt construction: wrap a document in an instruction and the model's chat template."""

from __future__ import annotations

import unicodedata

from .errors import EmptyPromptError, InvalidParameterError, PromptTooLongError
from .result import PromptInfo

DEFAULT_INSTRUCTION = "Summarize the following text."
_PLACEHOLDER = "\x00DOCUMENT\x00"


def clean_text(text: str) -> str:
    """Normalise to NFC and drop control characters other than newline and tab."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    return "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch) != "Cc")


def template_parts(tokenizer, instruction: str) -> tuple[str, str]:
    """Return the text before and after the document in the wrapped prompt.

    The document comes last in the user message, so that only the chat template's
    closing tokens follow it.
    """
    user_message = f"{instruction}\n\n{_PLACEHOLDER}" if instruction else _PLACEHOLDER
    if getattr(tokenizer, "chat_template", None):
        rendered = tokenizer.apply_chat_template(
            [{"role": "user", "content": user_message}], tokenize=False, add_generation_prompt=True)
        prefix, suffix = rendered.split(_PLACEHOLDER)
        return prefix, suffix
    prefix = f"{instruction}\n\n" if instruction else ""
    return prefix, "\n\nSummary:"


def build_prompt(bundle, document: str, instruction: str = DEFAULT_INSTRUCTION,
                 truncate: int | None = None, reserve_tokens: int = 0,
                 document_last: bool = False) -> PromptInfo:
    """Tokenize `document` inside the instruction and chat template.

    `truncate` cuts the document to that many tokens. `reserve_tokens` (the tokens to be
    generated) count against the model's context. With `document_last` the template's
    closing tokens are left out, so that the prompt ends with the document and text
    scored after it reads as its continuation. Raises EmptyPromptError or
    PromptTooLongError.
    """
    tokenizer = bundle.tokenizer
    if not isinstance(document, str):
        raise InvalidParameterError(f"The document must be text (str), not {type(document).__name__}.")
    if truncate is not None and (isinstance(truncate, bool) or not isinstance(truncate, int)):
        raise InvalidParameterError(f"truncate must be a whole number of tokens, got {truncate!r}.")
    document = clean_text(document).strip()
    if not document:
        raise EmptyPromptError("The prompt is empty: enter some text.")

    prefix, suffix = template_parts(tokenizer, instruction)
    if document_last:
        suffix = ""
    prefix_ids = tokenizer.encode(prefix, add_special_tokens=False)
    suffix_ids = tokenizer.encode(suffix, add_special_tokens=False)
    document_ids = tokenizer.encode(document, add_special_tokens=False)
    if not document_ids:
        raise EmptyPromptError("The prompt has no tokens after cleaning: enter some text.")
    if truncate is not None:
        if truncate < 1:
            raise InvalidParameterError(f"truncate must be at least 1 token, got {truncate}.")
        document_ids = document_ids[:truncate]

    if _needs_bos(tokenizer, prefix_ids):
        prefix_ids = [tokenizer.bos_token_id] + prefix_ids
    token_ids = prefix_ids + document_ids + suffix_ids
    check_length(len(token_ids), reserve_tokens, bundle.max_context)

    span = (len(prefix_ids), len(prefix_ids) + len(document_ids))
    tokens = [tokenizer.decode([token_id]) for token_id in token_ids]
    text = tokenizer.decode(document_ids)
    return PromptInfo(text=text, token_ids=token_ids, tokens=tokens, document_span=span)


def check_length(n_tokens: int, reserve_tokens: int, max_context: int) -> None:
    if n_tokens + reserve_tokens > max_context:
        raise PromptTooLongError(
            f"The prompt has {n_tokens} tokens and {reserve_tokens} more are to be generated, "
            f"but the model's context holds {max_context}. Shorten the text or truncate it "
            f"to at most {max(max_context - reserve_tokens - 64, 1)} document tokens.",
            n_tokens + reserve_tokens, max_context)


def _needs_bos(tokenizer, prefix_ids: list[int]) -> bool:
    """Llama-style tokenizers without a chat template expect a BOS token first."""
    bos = tokenizer.bos_token_id
    if bos is None or getattr(tokenizer, "chat_template", None):
        return False
    add_bos = getattr(tokenizer, "add_bos_token", False)
    return bool(add_bos) and (not prefix_ids or prefix_ids[0] != bos)
