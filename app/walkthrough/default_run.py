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


def default_settings() -> Settings:
    """Return Explore's sidebar defaults: the embedded model on the CPU and the library's parameters."""
    return Settings(model_name=None, device="cpu", instruction=ss.DEFAULT_INSTRUCTION, truncate=None,
                    params=ss.PipelineParams())


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
        runner._run(default_settings(), Texts(preset.reference, preset.target), load_operator_settings())
    if st.session_state.get(runner.ERROR_KEY):
        st.error(st.session_state[runner.ERROR_KEY])
