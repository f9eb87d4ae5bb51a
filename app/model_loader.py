"""Model loading, cached across reruns and sessions of one server process."""

from __future__ import annotations

import logging

import streamlit as st
import torch

import semshare_core as ss
from semshare_core import limits
from semshare_core.settings import OperatorSettings

logger = logging.getLogger(__name__)


def available_devices() -> list[str]:
    """Return the devices a user may pick, CPU first."""
    return ["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"]


@st.cache_resource(show_spinner="Loading the model (the first start also converts it to safetensors)…", max_entries=2)
def load_bundle(name_or_path: str | None, device: str) -> ss.ModelBundle:
    """Load a model once per (name, device). Exceptions are not cached, so a rerun after a fix tries again."""
    return ss.load_model(name_or_path, device=device)


def try_load_bundle(name_or_path: str | None, device: str, operator: OperatorSettings) -> ss.ModelBundle | None:
    """Load the model if the operator allows it, or show the error message and return None."""
    try:
        limits.check_model_allowed(name_or_path, operator)
        if not limits.is_embedded(name_or_path):
            # Before loading, so that a model too large for the budget never reaches memory.
            limits.check_weights_fit(name_or_path, device, operator)
        return load_bundle(name_or_path, device)
    except ss.SemShareError as error:
        st.error(f"Could not load the model: {error}")
        return None
    except Exception as error:  # noqa: BLE001 - a failed load must show a message, not a traceback
        logger.exception("Loading model %r on %s failed unexpectedly", name_or_path, device)
        st.error(f"Could not load the model: unexpected {type(error).__name__}: {error}. "
                 "The server log has the details.")
        return None
