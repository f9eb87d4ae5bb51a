"""Shared input of every walkthrough step: the run, its cache key and the highlighted token."""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass

import numpy as np
import streamlit as st

import semshare_core as ss
from semshare_core import limits
from app.model_loader import load_bundle

logger = logging.getLogger(__name__)

# Written by the linked selection on Explore; the walkthrough only reads it.
SELECTED_TOKEN_KEY = "selected_token"


@dataclass(frozen=True)
class StepContext:
    result: ss.RunResult
    run_key: str          # names the run in st.cache_data keys
    focus: int            # target position highlighted in token figures
    focus_is_selected: bool

    @property
    def has_mapping(self) -> bool:
        return len(self.result.mapping) == self.result.n_target_tokens


def make_context(result: ss.RunResult) -> StepContext:
    focus, is_selected = focus_token(result, st.session_state.get(SELECTED_TOKEN_KEY))
    return StepContext(result=result, run_key=run_key(result), focus=focus, focus_is_selected=is_selected)


def run_key(result: ss.RunResult) -> str:
    """Return a digest of the model, parameters and token ids, equal for equal runs."""
    content = json.dumps([result.model_name, result.params.to_dict(), result.reference.token_ids,
                          result.target.token_ids], sort_keys=True)
    return hashlib.sha1(content.encode("utf-8")).hexdigest()


def focus_token(result: ss.RunResult, selected) -> tuple[int, bool]:
    """Return (position, whether it is the user's selection).

    A missing or out-of-range selection gives the first document token, as on Explore,
    because the chat template's opening tokens show little of the method. Explore's
    picker stores that same token before the user picks one, so it does not count as a
    selection.
    """
    start = min(max(result.target.document_span[0], 0), result.n_target_tokens - 1)
    is_position = isinstance(selected, (int, np.integer)) and not isinstance(selected, bool)
    if is_position and 0 <= int(selected) < result.n_target_tokens:
        return int(selected), int(selected) != start
    return start, False


def bundle_for(result: ss.RunResult) -> ss.ModelBundle | None:
    """Return the run's model from the shared cache, or None with a warning if it cannot be loaded.

    The embedded model is cached under the name None and a device without its index
    ("cuda", not "cuda:0"), as Explore loads it, so no second copy is loaded.
    """
    name = None if limits.is_embedded(result.model_name) else result.model_name
    device = result.device.split(":")[0]
    try:
        return load_bundle(name, device)
    except Exception as error:  # noqa: BLE001 - a step must show a message, not a traceback
        logger.warning("Loading %s on %s for the walkthrough failed: %s", result.model_name, device, error)
        st.warning(f"Could not load the model {result.model_name} on {device} to compute this step's figure: "
                   f"{error}. The other steps still work.")
        return None
