"""Explore page: two prompts, the pipeline's parameters, one Run button and the result views."""

import streamlit as st

from app.inputs import render_inputs
from app.model_loader import try_load_bundle
from app.operator_settings import load_operator_settings
from app.results import render_results
from app.runner import FINGERPRINT_KEY, RESULT_KEY, fingerprint, render_run_button
from app.sidebar import render_sidebar


def render() -> None:
    st.title("SemShareKV Explorer")
    st.caption("Reuse the KV cache of a reference prompt for a target prompt that says the same thing "
               "in other words: match tokens by LSH, rearrange the cache, recompute a few tokens per "
               "layer and evict low-attention tokens.")

    # Settings first: the model and prompt options decide the token counts under the inputs.
    operator_settings = load_operator_settings()
    settings = render_sidebar()
    bundle = try_load_bundle(settings.model_name, settings.device, operator_settings)
    reserve_tokens = settings.params.max_new_tokens if settings.params else 0
    texts = render_inputs(bundle, settings.instruction, settings.truncate, reserve_tokens,
                          operator_settings.max_upload_bytes)

    # The model runs only when this button is clicked. Every other rerun redraws the stored result.
    render_run_button(settings, texts, operator_settings, model_ready=bundle is not None)

    result = st.session_state.get(RESULT_KEY)
    if result is not None:
        render_results(result, is_stale=st.session_state.get(FINGERPRINT_KEY) != fingerprint(settings, texts))
