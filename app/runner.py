"""The Run button: one library call per click, with progress by phase.

The result lives in `st.session_state`, so reruns caused by any other widget
redraw it without touching the model.
"""

from __future__ import annotations

import logging
import threading
import time
from contextlib import contextmanager
from typing import Iterator

import streamlit as st
import torch

import semshare_core as ss
from semshare_core import limits
from semshare_core.settings import OperatorSettings
from app.inputs import Texts
from app.model_loader import load_bundle
from app.sidebar import Settings

logger = logging.getLogger(__name__)

RESULT_KEY = "result"
PREVIOUS_RESULT_KEY = "previous_result"  # the result a new run replaced, for the comparison view
RUN_COUNT_KEY = "run_count"        # library calls made in this session, read by the tests
FINGERPRINT_KEY = "result_inputs"  # inputs of the stored result, to flag stale views
ERROR_KEY = "run_error"
ERROR_INPUTS_KEY = "run_error_inputs"  # inputs of the failed run, so the error clears once they change


@st.cache_resource
def run_lock() -> threading.Lock:
    """Return the one lock shared by all sessions, because two CPU-heavy runs at once only slow each other down."""
    return threading.Lock()


def fingerprint(settings: Settings, texts: Texts) -> tuple:
    return (settings.model_name, settings.device, settings.instruction, settings.truncate,
            settings.params, texts.reference, texts.target)


def render_run_button(settings: Settings, texts: Texts, operator: OperatorSettings, model_ready: bool) -> None:
    clicked = st.button("Run", type="primary", key="run", disabled=settings.params is None or not model_ready,
                        help="Prefill the target in full and with SemShareKV, then decode both.")
    if clicked:
        st.session_state[ERROR_INPUTS_KEY] = fingerprint(settings, texts)
        _run(settings, texts, operator)
    error_is_current = st.session_state.get(ERROR_INPUTS_KEY) == fingerprint(settings, texts)
    if st.session_state.get(ERROR_KEY) and error_is_current:
        st.error(st.session_state[ERROR_KEY])


def check_run_limits(bundle: ss.ModelBundle, settings: Settings, texts: Texts, operator: OperatorSettings) -> None:
    """Raise a SemShareError when the prompts exceed the operator's token limit or memory budget."""
    reserve = settings.params.max_new_tokens
    counts = {}
    for label, text in (("reference", texts.reference), ("target", texts.target)):
        prompt = ss.build_prompt(bundle, text, instruction=settings.instruction, truncate=settings.truncate,
                                 reserve_tokens=reserve)
        limits.check_prompt_tokens(prompt.n_tokens, operator, label)
        counts[label] = prompt.n_tokens
    estimate = limits.estimate_for_bundle(bundle, counts["reference"], counts["target"], reserve)
    limits.check_memory(estimate, operator)


@contextmanager
def _exclusive(status) -> Iterator[None]:
    lock = run_lock()
    if not lock.acquire(blocking=False):
        status.update(label="Waiting for another user's run to finish")
        lock.acquire()
    try:
        yield
    finally:
        lock.release()


def _run(settings: Settings, texts: Texts, operator: OperatorSettings) -> None:
    st.session_state[ERROR_KEY] = None
    st.session_state[RUN_COUNT_KEY] = st.session_state.get(RUN_COUNT_KEY, 0) + 1
    started = time.perf_counter()

    with st.status("Running SemShareKV…", expanded=True) as status:
        bar = st.progress(0.0, text="Starting")

        def report(phase: str, fraction: float) -> None:
            # Phases are reported when they start, so the elapsed time shows how long the previous ones took.
            elapsed = time.perf_counter() - started
            bar.progress(min(max(float(fraction), 0.0), 1.0), text=f"{phase.capitalize()}… ({elapsed:.0f} s so far)")
            status.update(label=f"Running SemShareKV: {phase} ({elapsed:.0f} s so far)")

        try:
            bundle = load_bundle(settings.model_name, settings.device)
            # Limits are checked before waiting for the lock, so a rejected run never queues.
            check_run_limits(bundle, settings, texts, operator)
            with _exclusive(status):
                # The time limit counts from here, so time spent waiting for another run is free.
                result = ss.compare(bundle, texts.reference, texts.target, settings.params,
                                    instruction=settings.instruction, truncate=settings.truncate,
                                    progress=limits.deadline_progress(operator, report))
        except ss.SemShareError as error:
            if isinstance(error, ss.RunTimeoutError):
                logger.warning("Run stopped by the time limit: %s", error)
            status.update(label="Run failed", state="error", expanded=False)
            st.session_state[ERROR_KEY] = str(error)
            return
        except torch.OutOfMemoryError as error:
            # Device memory ran out. PyTorch's message names the device and the shortfall.
            logger.warning("Out of memory during a run: %s", error)
            status.update(label="Run failed", state="error", expanded=False)
            st.session_state[ERROR_KEY] = (f"The device ran out of memory: {error}. "
                                           "Truncate the documents or pick a smaller model.")
            return
        except Exception as error:  # noqa: BLE001 - a class in front of a projector must not see a traceback
            logger.exception("Run failed unexpectedly")
            status.update(label="Run failed", state="error", expanded=False)
            st.session_state[ERROR_KEY] = (f"The run failed unexpectedly ({type(error).__name__}: {error}). "
                                           "The server log has the details; please report it with the prompts used.")
            return

        elapsed = time.perf_counter() - started
        status.update(label=f"Done in {elapsed:.1f} s", state="complete", expanded=False)

    if st.session_state.get(RESULT_KEY) is not None:
        st.session_state[PREVIOUS_RESULT_KEY] = st.session_state[RESULT_KEY]
    st.session_state[RESULT_KEY] = result
    st.session_state[FINGERPRINT_KEY] = fingerprint(settings, texts)
