"""Step navigation: the step number lives in the URL (`?step=3`, 1-based), so a reload keeps it."""

from __future__ import annotations

import streamlit as st

STEP_PARAM = "step"
LAST_STEP_KEY = "walkthrough_last_step"  # the step shown last in this session, for a URL without a step
PREVIOUS_KEY = "walkthrough_previous"
NEXT_KEY = "walkthrough_next"


def parse_step(raw: str | None, n_steps: int) -> tuple[int, str | None]:
    """Return (step, message): step 1 with a message for a value that is not a step number."""
    if raw is None:
        return 1, None
    text = raw.strip()
    if text.isdigit() and 1 <= int(text) <= n_steps:
        return int(text), None
    return 1, f"“{raw}” is not a step number from 1 to {n_steps}, so the walkthrough starts at step 1."


def current_step(n_steps: int) -> int:
    """Read the step from the URL, warn about an invalid value and write the valid step back.

    Without a step in the URL, as after coming back from Explore through the page list,
    the page returns to the step this session showed last.
    """
    raw = st.query_params.get(STEP_PARAM)
    if raw is None and st.session_state.get(LAST_STEP_KEY) is not None:
        raw = str(st.session_state[LAST_STEP_KEY])
    step, message = parse_step(raw, n_steps)
    if message:
        st.warning(message)
    if st.query_params.get(STEP_PARAM) != str(step):
        st.query_params[STEP_PARAM] = str(step)
    st.session_state[LAST_STEP_KEY] = step
    return step


def _go_to(step: int) -> None:
    # A callback runs before the next script run, which then reads the new step from the URL.
    st.query_params[STEP_PARAM] = str(step)


def render_navigation(step: int, titles: list[str]) -> None:
    """Draw Previous, the step indicator, Next and a progress bar."""
    n_steps = len(titles)
    previous_column, indicator_column, next_column = st.columns([1, 4, 1], vertical_alignment="center")
    with previous_column:
        st.button("Previous", key=PREVIOUS_KEY, disabled=step <= 1, on_click=_go_to, args=(step - 1,),
                  width="stretch", shortcut="Left")
    with indicator_column:
        st.markdown(f"### Step {step} of {n_steps}: {titles[step - 1]}")
    with next_column:
        st.button("Next", key=NEXT_KEY, disabled=step >= n_steps, on_click=_go_to, args=(step + 1,),
                  type="primary", width="stretch", shortcut="Right")
    st.progress(step / n_steps)
