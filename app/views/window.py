"""A token-window control shared by views that show one label per token."""

from __future__ import annotations

import streamlit as st

from app import linked


def token_window(n_tokens: int, key: str, default_width: int = 80) -> tuple[int, int]:
    """Draw width and start sliders and return the [start, end) target positions to show.

    Run inside a fragment: moving these sliders redraws only that view.
    """
    width_key, start_key = f"{key}_width", f"{key}_start"
    if n_tokens <= 30:
        return 0, n_tokens

    max_width = min(150, n_tokens)
    width = st.slider("Tokens shown", min_value=20, max_value=max_width, value=min(default_width, max_width),
                      step=10, key=width_key, help="Number of target tokens drawn at once (unit: tokens).")
    last_start = n_tokens - width
    if last_start <= 0:
        return 0, n_tokens

    # Changing the width changes the slider's range, and Streamlit then builds a new slider
    # from `value`. The last start is kept apart so that the window stays where it was.
    saved_key = f"{key}_saved_start"
    default_start = min(st.session_state.get(saved_key, 0), last_start)
    flag_key = f"{key}_start_set_by_callback"
    if st.session_state.get(flag_key):
        # A callback (linked selection) set the slider's state. Passing a default as well
        # would make Streamlit log a warning about two sources for one value. A click inside
        # a fragment is followed by a rerun of the whole app, which must see the flag too.
        default_start = None
        if not st.session_state.get(linked.APP_RERUN_KEY):
            del st.session_state[flag_key]
    start = st.slider("First target position", min_value=0, max_value=last_start,
                      value=default_start, key=start_key,
                      help="Position of the first target token in the window (unit: token index).")
    st.session_state[saved_key] = start
    return start, start + width
