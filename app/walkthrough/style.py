"""Projector styling for the walkthrough page: large type, high contrast, bold figures.

The CSS is injected by the walkthrough page only, so the other pages keep Streamlit's
normal sizes.
"""

from __future__ import annotations

import html

import plotly.graph_objects as go
import streamlit as st

from app.tokens import token_label

FOCUS = "#000000"        # the highlighted token, in every walkthrough figure
TEXT = "#111111"
GRID = "#D0D0D0"
FIGURE_FONT_PX = 18
FIGURE_HEIGHT_PX = 520
# No mode bar: on a projector it covers titles, and a lesson needs no zoom buttons.
PLOTLY_CONFIG = {"displayModeBar": False}

_CSS = """
<style>
[data-testid="stMainBlockContainer"] { max-width: 1600px; padding-top: 2.5rem; }
[data-testid="stMainBlockContainer"] h1 { font-size: 2.6rem; }
[data-testid="stMainBlockContainer"] h2 { font-size: 2.1rem; }
[data-testid="stMainBlockContainer"] h3 { font-size: 1.7rem; }
[data-testid="stMainBlockContainer"] [data-testid="stMarkdownContainer"] p,
[data-testid="stMainBlockContainer"] [data-testid="stMarkdownContainer"] li {
  font-size: 1.35rem; line-height: 1.55;
}
[data-testid="stMainBlockContainer"] [data-testid="stCaptionContainer"],
[data-testid="stMainBlockContainer"] [data-testid="stCaptionContainer"] p {
  font-size: 1.1rem; color: inherit; opacity: 1;
}
[data-testid="stMainBlockContainer"] .katex { font-size: 1.25em; }
[data-testid="stMainBlockContainer"] button p { font-size: 1.25rem; font-weight: 600; }
[data-testid="stMainBlockContainer"] [data-testid="stMetricValue"],
[data-testid="stMainBlockContainer"] [data-testid="stMetricValue"] p { font-size: 2.2rem; }
[data-testid="stMainBlockContainer"] [data-testid="stMetricLabel"] p { font-size: 1.15rem; }
.wt-tokens { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 1.2rem; line-height: 2.3; }
.wt-token { border: 1px solid #888; border-radius: 4px; padding: 0.1rem 0.3rem; margin: 0 0.1rem;
            white-space: pre; }
.wt-shared { background: #0072B2; color: #FFFFFF; border-color: #0072B2; }
.wt-differs { background: #FFFFFF; color: #111111; }
.wt-first-diff { border: 3px solid #000000; font-weight: 700; }
.wt-focus { outline: 3px solid #000000; outline-offset: 2px; font-weight: 700; }
</style>
"""


def apply_projector_style() -> None:
    st.html(_CSS)


def style_figure(figure: go.Figure, height: int = FIGURE_HEIGHT_PX) -> go.Figure:
    """Set large fonts, a white background and dark axes, readable from the back of a room.

    The title sits at the top and the legend in one row between title and plot. Margins
    and legend settings that the figure already set are kept.
    """
    margin, legend = figure.layout.margin, figure.layout.legend
    # Plotly draws a legend only for two or more traces; without one the title needs less room.
    has_legend = figure.layout.showlegend is not False and len(figure.data) > 1
    figure.update_layout(
        template="plotly_white", height=height, font=dict(size=FIGURE_FONT_PX, color=TEXT),
        title=dict(font=dict(size=FIGURE_FONT_PX + 4), x=0.0, xanchor="left", y=0.98, yanchor="top",
                   xref="container", yref="container"),
        legend=dict(orientation=_or(legend.orientation, "h"), x=_or(legend.x, 0.0), xanchor=_or(legend.xanchor, "left"),
                    y=_or(legend.y, 1.02), yanchor=_or(legend.yanchor, "bottom")),
        margin=dict(t=_or(margin.t, 120 if has_legend else 70), b=_or(margin.b, 80), l=_or(margin.l, 90), r=_or(margin.r, 30)),
        hoverlabel=dict(font_size=FIGURE_FONT_PX))
    figure.update_xaxes(showline=True, linecolor=TEXT, gridcolor=GRID, title_font=dict(size=FIGURE_FONT_PX))
    figure.update_yaxes(showline=True, linecolor=TEXT, gridcolor=GRID, title_font=dict(size=FIGURE_FONT_PX))
    return figure


def _or(value, default):
    return default if value is None else value


def show_figure(figure: go.Figure, key: str, height: int = FIGURE_HEIGHT_PX) -> None:
    # theme=None keeps these fonts: Streamlit's chart theme would shrink them.
    st.plotly_chart(style_figure(figure, height), key=key, config=PLOTLY_CONFIG, theme=None)


def token_chips(tokens: list[str], classes: list[str]) -> str:
    """Return HTML for a row of tokens, each in a box with the given CSS classes."""
    chips = [f'<span class="wt-token {css}">{html.escape(token_label(token, max_chars=18))}</span>'
             for token, css in zip(tokens, classes)]
    return f'<div class="wt-tokens">{"".join(chips)}</div>'


def escape_markdown(text: str) -> str:
    """Return `text` with Markdown and LaTeX markup characters escaped, so it renders literally."""
    return "".join(f"\\{ch}" if ch in "\\`*_{}[]()#+-.!|<>$~" else ch for ch in text)


def quoted(token: str) -> str:
    """Return a token for running text, with whitespace made visible and Markdown escaped."""
    return f"“{escape_markdown(token_label(token, max_chars=24))}”"
