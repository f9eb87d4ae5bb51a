"""The offer shown when no run exists yet: run the first preset, as Explore's Run button would."""

from __future__ import annotations

import streamlit as st

import semshare_core as ss
from app import runner
from app.inputs import Texts
from app.operator_settings import load_operator_settings
from app.presets import load_presets
from app.sidebar import Settings

RUN_KEY = "walkthrough_run"


@st.cache_resource
def saved_default_runs() -> dict:
    """Default-preset results of this server process, by run inputs, shared by all sessions.

    A browser reload starts a new session without the result. Keeping the result here lets
    a class continue at the same step without running the model again.
    """
    return {}


def default_settings() -> Settings:
    """Return Explore's sidebar defaults: the embedded model on the CPU and the library's parameters."""
    return Settings(model_name=None, device="cpu", instruction=ss.DEFAULT_INSTRUCTION, truncate=None,
                    params=ss.PipelineParams())


def default_texts() -> Texts | None:
    presets = load_presets()
    return Texts(presets[0].reference, presets[0].target) if presets else None


def restore_default_run() -> bool:
    """Put a saved default-preset result into this session, where Explore reads it too; return whether one existed."""
    texts = default_texts()
    if texts is None:
        return False
    inputs = runner.fingerprint(default_settings(), texts)
    result = saved_default_runs().get(inputs)
    if result is None:
        return False
    st.session_state[runner.RESULT_KEY] = result
    st.session_state[runner.FINGERPRINT_KEY] = inputs
    return True


def render_default_run_offer() -> None:
    """Offer a run of the first preset; the run stores its result where Explore reads it too."""
    presets = load_presets()
    if not presets:
        st.error("There is no run to walk through, and assets/presets holds no preset to run. "
                 "Run a prompt pair on the Explore page first.")
        return
    preset = presets[0]
    st.info(f"The walkthrough explains one run, step by step, with that run's own numbers. There is no run "
            f"yet: run the example “{preset.name}” here, or run your own prompts on the Explore page "
            "and come back.")
    if st.button("Run the default preset", key=RUN_KEY, type="primary",
                 help="Prefills the target in full and with SemShareKV on the embedded model, then decodes "
                      "both. This takes tens of seconds on a CPU."):
        # The same call as Explore's Run button: limits, the shared run lock and error messages included.
        settings, texts = default_settings(), Texts(preset.reference, preset.target)
        runner._run(settings, texts, load_operator_settings())
        inputs = runner.fingerprint(settings, texts)
        result = st.session_state.get(runner.RESULT_KEY)
        if result is not None and st.session_state.get(runner.FINGERPRINT_KEY) == inputs:
            saved_default_runs()[inputs] = result
            # Redraw without this offer and the run's status box, starting at the step in the URL.
            st.rerun()
    if st.session_state.get(runner.ERROR_KEY):
        st.error(st.session_state[runner.ERROR_KEY])
