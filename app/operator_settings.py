"""The server operator's limits, read from the environment on every rerun."""

from __future__ import annotations

import streamlit as st

from semshare_core.errors import SettingsError
from semshare_core.settings import OperatorSettings, load_settings


def load_operator_settings() -> OperatorSettings:
    """Return the operator settings, or show what is wrong with them and stop the page.

    Reading them is cheap, so each rerun sees a changed environment or config file.
    """
    try:
        return load_settings()
    except SettingsError as error:
        st.error(f"The server's operator settings are invalid: {error} "
                 f"The operator must fix {error.variable} and restart the app.")
        st.stop()
