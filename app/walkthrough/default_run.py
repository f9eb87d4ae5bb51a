"""The offer shown when no run exists yet: run the first preset, as Explore's Run button would."""

from __future__ import annotations

import json
import logging

import streamlit as st

import semshare_core as ss
from app import runner
from app.inputs import Texts
from app.operator_settings import load_operator_settings
from app.presets import load_presets
from app.sidebar import Settings

logger = logging.getLogger(__name__)

RUN_KEY = "walkthrough_run"


@st.cache_resource
def saved_default_runs() -> dict:
    """Default-preset results of this server process, by run inputs, shared by all sessions.

    A browser reload starts a new session without the result. Keeping the result here lets
    a class continue at the same step without running the model again.
    """
    return {}


def saved_run_key(settings: Settings, texts: Texts) -> str:
    """Return the run inputs as JSON text.

    Plain text, not the Settings object, because Streamlit re-imports a module whose file
    changed, and a dataclass never equals an instance of the class it had before.
    """
    return json.dumps([settings.model_name, settings.device, settings.instruction, settings.truncate,
                       settings.params.to_dict(), texts.reference, texts.target])


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
    settings = default_settings()
    result = saved_default_runs().get(saved_run_key(settings, texts))
    if result is None:
        return False
    st.session_state[runner.RESULT_KEY] = result
    st.session_state[runner.FINGERPRINT_KEY] = runner.fingerprint(settings, texts)
    logger.info("Restored the saved default-preset run into a new session")
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
        result = st.session_state.get(runner.RESULT_KEY)
        if result is not None and st.session_state.get(runner.FINGERPRINT_KEY) == runner.fingerprint(settings, texts):
            saved_default_runs()[saved_run_key(settings, texts)] = result
            # Redraw without this offer and the run's status box, starting at the step in the URL.
            st.rerun()
    if st.session_state.get(runner.ERROR_KEY):
        st.error(st.session_state[runner.ERROR_KEY])
