"""Walkthrough page: a guided tour of one SemShareKV run, one step per stage of the method.

The step is in the URL (`?step=N`), so a reload or a shared link opens the same step.
"""

import logging

import streamlit as st

from app.runner import RESULT_KEY
from app.walkthrough.context import StepContext, make_context
from app.walkthrough.default_run import render_default_run_offer, restore_default_run
from app.walkthrough.navigation import current_step, render_navigation
from app.walkthrough.steps import STEPS
from app.walkthrough.style import apply_projector_style, quoted

logger = logging.getLogger(__name__)


def render() -> None:
    apply_projector_style()
    st.title("Walkthrough: reusing a KV cache across prompts")

    if st.session_state.get(RESULT_KEY) is None and restore_default_run():
        st.caption("This is the run of the default preset made earlier on this server. "
                   "Run your own prompts on the Explore page to walk through them instead.")
    result = st.session_state.get(RESULT_KEY)
    if result is None:
        render_default_run_offer()
        result = st.session_state.get(RESULT_KEY)
        if result is None:
            return

    step = current_step(len(STEPS))
    render_navigation(step, [item.title for item in STEPS])
    context = make_context(result)
    _run_caption(context)

    try:
        STEPS[step - 1].render(context)
    except Exception as error:  # noqa: BLE001 - a class in front of a projector must not see a traceback
        logger.exception("Walkthrough step %d failed", step)
        st.error(f"Step {step} could not be drawn for this run ({type(error).__name__}: {error}). "
                 "The other steps may still work; the server log has the details.")


def _run_caption(context: StepContext) -> None:
    result = context.result
    token = quoted(result.target.tokens[context.focus])
    source = ("selected on Explore" if context.focus_is_selected
              else "the first document token; pick another with the token picker on Explore")
    st.caption(f"Run: {result.model_name}, reference {result.n_reference_tokens:,} tokens, target "
               f"{result.n_target_tokens:,} tokens, {result.n_layers} layers. Highlighted token: "
               f"{context.focus} {token} ({source}).")
