"""The prompt store of one browser session: preset references plus prompts the user adds."""

from __future__ import annotations

import streamlit as st

from app.presets import Preset
from semshare_core.store import StoredPrompt

STORE_KEY = "prompt_store"
PRESET_SOURCE = "preset"


def init_store(presets: list[Preset]) -> None:
    """Fill the store with the presets' references on a session's first visit."""
    if STORE_KEY not in st.session_state:
        reset_store(presets)


def reset_store(presets: list[Preset]) -> None:
    st.session_state[STORE_KEY] = [StoredPrompt(preset.name, preset.reference, PRESET_SOURCE)
                                   for preset in presets]


def stored_prompts() -> list[StoredPrompt]:
    return list(st.session_state.get(STORE_KEY, []))


def add_prompt(name: str, text: str, source: str) -> str:
    """Add a prompt under a unique name and return that name.

    A name already in the store gets a numeric suffix, so adding the same file twice keeps both.
    """
    prompts = stored_prompts()
    taken = {prompt.name for prompt in prompts}
    unique = name.strip() or "Untitled prompt"
    suffix = 2
    while unique in taken:
        unique = f"{name.strip() or 'Untitled prompt'} ({suffix})"
        suffix += 1
    st.session_state[STORE_KEY] = [*prompts, StoredPrompt(unique, text, source)]
    return unique


def remove_prompts(names: list[str]) -> None:
    st.session_state[STORE_KEY] = [prompt for prompt in stored_prompts() if prompt.name not in set(names)]
