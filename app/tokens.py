"""Helpers that turn decoded tokens into safe, readable labels."""

from __future__ import annotations

import html

# Whitespace that would be invisible in a chart label.
_VISIBLE = {" ": "·", "\n": "↵", "\t": "⇥"}


def token_label(token: str, max_chars: int = 14) -> str:
    """Return a one-line label for a chart, with whitespace made visible."""
    label = "".join(_VISIBLE.get(ch, ch) for ch in token) or "∅"
    if len(label) > max_chars:
        label = label[: max_chars - 1] + "…"
    return label


def chart_label(token: str, max_chars: int = 14) -> str:
    """Return a label escaped for Plotly text, which renders a subset of HTML tags."""
    return html.escape(token_label(token, max_chars))


def hover_text(token: str) -> str:
    """Return a token escaped for Plotly hover text."""
    return html.escape(token_label(token, max_chars=40))


def html_token(token: str) -> str:
    """Escape a token for inline HTML, keeping line breaks visible as breaks."""
    return html.escape(token).replace("\n", "<br>")
