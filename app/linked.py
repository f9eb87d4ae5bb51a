"""Linked selection: one selected target token, highlighted in every result view.

The selection is an int in `st.session_state[SELECTED_TOKEN_KEY]`, a plain key that no
widget owns, so that it survives pages on which the token picker is not drawn. The
picker and clicks on token charts both write it through `select_token`.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

import semshare_core as ss
from app.tokens import token_label

SELECTED_TOKEN_KEY = "selected_token"
PICKER_KEY = "token_picker"
# Set by a chart click inside a fragment: the fragment then reruns the whole app,
# so that the picker, the token card and the other views follow the click.
APP_RERUN_KEY = "selected_token_needs_app_rerun"
MARKDOWN_SPECIALS = set("\\`*_{}[]()<>#+-.!|~$")
HIGHLIGHT = "#000000"  # the selected token's marker and lines, in every view


def selected_token(result: ss.RunResult) -> int:
    """Return the selected target position, clamped to this result's target.

    Without a selection the first document token is selected, because the chat
    template's opening tokens show little of the method.
    """
    default = result.target.document_span[0]
    position = st.session_state.get(SELECTED_TOKEN_KEY, default)
    if not isinstance(position, (int, np.integer)):
        position = default
    return int(min(max(position, 0), result.n_target_tokens - 1))


def select_token(position: int, n_target_tokens: int) -> None:
    """Store a new selection and move the alignment window onto it.

    Call it from a widget callback: callbacks run before the widgets of the next
    run exist, so they may set widget keys.
    """
    position = int(min(max(position, 0), n_target_tokens - 1))
    st.session_state[SELECTED_TOKEN_KEY] = position
    st.session_state[PICKER_KEY] = position
    _center_alignment_window(position, n_target_tokens)


def _center_alignment_window(position: int, n_target_tokens: int) -> None:
    width = st.session_state.get("alignment_width")
    if width is None or n_target_tokens <= width:
        return
    start = int(min(max(position - width // 2, 0), n_target_tokens - width))
    # Both keys, because the slider's own state sets what the browser shows and the saved
    # start survives a change of the window width (see app/views/window.py).
    st.session_state["alignment_saved_start"] = start
    st.session_state["alignment_start"] = start
    st.session_state["alignment_start_set_by_callback"] = True


def token_option(result: ss.RunResult, position: int) -> str:
    return f"{position}: {token_label(result.target.tokens[position], max_chars=30)}"


def markdown_token(result: ss.RunResult, position: int) -> str:
    """Return "index: token" with Markdown's special characters escaped, for st.markdown."""
    return escape_markdown(token_option(result, position))


def escape_markdown(text: str) -> str:
    return "".join("\\" + char if char in MARKDOWN_SPECIALS else char for char in text)


def render_token_picker(result: ss.RunResult) -> int:
    """Draw the token picker and return the selected target position."""
    position = selected_token(result)
    st.session_state[SELECTED_TOKEN_KEY] = position
    # The widget is created after this line, so setting its key here is allowed.
    st.session_state[PICKER_KEY] = position
    st.selectbox("Selected target token", options=range(result.n_target_tokens),
                 format_func=lambda option: token_option(result, option), key=PICKER_KEY,
                 on_change=_picker_changed, args=(result.n_target_tokens,),
                 help="Highlights this token in every view. Type to search by index or text, "
                      "or click a token in the alignment charts. Tokens are often pieces of words, so "
                      "search for the start of a long word: “East” finds the first token of “Eastline”.")
    return position


def _picker_changed(n_target_tokens: int) -> None:
    select_token(st.session_state[PICKER_KEY], n_target_tokens)


def token_from_points(points: list[dict]) -> int | None:
    """Return the target position stored in the first clicked point's customdata, if any.

    Token charts put the target position first in each point's customdata. Points
    without customdata (reference tokens, lines) select nothing.
    """
    for point in points:
        customdata = point.get("customdata")
        if customdata is None:
            continue
        first = customdata[0] if isinstance(customdata, (list, tuple)) else customdata
        try:
            return int(first)
        except (TypeError, ValueError):
            continue
    return None


def chart_clicked(chart_key: str, n_target_tokens: int) -> None:
    """Select the token clicked in the chart stored under `chart_key` (an on_select callback)."""
    state = st.session_state.get(chart_key)
    if state is None:
        return
    position = token_from_points(state["selection"]["points"])
    if position is None:
        return
    select_token(position, n_target_tokens)
    st.session_state[APP_RERUN_KEY] = True


def rerun_app_after_click() -> None:
    """Rerun the whole app once after a chart click inside a fragment, which reran only itself."""
    if st.session_state.pop(APP_RERUN_KEY, False):
        st.rerun(scope="app")


def layer_ranges(layers: np.ndarray) -> str:
    """Format sorted layer indices as ranges, such as "0-3, 7, 9-11"; "none" when empty."""
    layers = [int(layer) for layer in layers]
    if not layers:
        return "none"
    parts, start, previous = [], layers[0], layers[0]
    for layer in layers[1:] + [None]:
        if layer is not None and layer == previous + 1:
            previous = layer
            continue
        parts.append(str(start) if start == previous else f"{start}-{previous}")
        if layer is not None:
            start = previous = layer
    return ", ".join(parts)


def token_facts(result: ss.RunResult, position: int) -> dict:
    """Return what the views show about one target token, as plain values."""
    recomputed = np.flatnonzero(np.asarray(result.recomputed, dtype=bool)[:, position])
    kept = np.flatnonzero(np.asarray(result.retained, dtype=bool)[:, position])
    has_match = len(result.mapping) == result.n_target_tokens
    match = int(result.mapping[position]) if has_match else None
    return {
        "token": result.target.tokens[position],
        "match": match,
        "match_token": result.reference.tokens[match] if match is not None else None,
        "distance": float(result.match_distance[position]) if has_match else None,
        "recomputed_layers": recomputed,
        "kept_layers": kept,
    }


def card_entries(result: ss.RunResult, position: int) -> list[tuple[str, str]]:
    """Return the token card's (label, Markdown value) pairs for one target token."""
    facts = token_facts(result, position)
    entries = [("Target token", markdown_token(result, position))]
    if facts["match"] is None:
        entries += [("Match in reference", "none"), ("Hamming distance", "n/a")]
    else:
        match_text = f"{facts['match']}: {token_label(facts['match_token'], max_chars=30)}"
        entries += [("Match in reference", escape_markdown(match_text)),
                    ("Hamming distance", f"{facts['distance']:.1f} bits")]
    for label, layers in (("Recomputed in", facts["recomputed_layers"]), ("Kept in", facts["kept_layers"])):
        entries.append((label, f"{len(layers)} of {result.n_layers} layers ({layer_ranges(layers)})"))
    return entries


def render_token_card(result: ss.RunResult, position: int) -> None:
    # Markdown cells wrap long tokens and layer lists, where st.metric would cut them off.
    with st.container(border=True, key="token_card"):
        cells = st.columns([3, 3, 2, 4, 4])
        for cell, (label, value) in zip(cells, card_entries(result, position)):
            cell.caption(label)
            cell.markdown(f"**{value}**")


def render_selection(result: ss.RunResult) -> int:
    """Draw the token picker and the token card above the views; return the selected position."""
    position = render_token_picker(result)
    render_token_card(result, position)
    return position
