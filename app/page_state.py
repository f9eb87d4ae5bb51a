"""Widget values that outlive a page switch.

Streamlit deletes a widget's value at the end of any run that does not draw the widget,
so leaving Explore for another page would reset its text boxes and the sidebar. Assigning
each value to itself at the start of every run turns it into a plain session value that
survives until the widget is drawn again.
"""

from __future__ import annotations

import streamlit as st

from app.inputs import PRESET_KEY, REFERENCE_KEY, TARGET_KEY
from app.param_specs import param_fields
from app.sidebar import SIDEBAR_KEYS, param_key

# Other modules may append keys of their own widgets that must survive a page switch.
PERSISTENT_KEYS: list[str] = [REFERENCE_KEY, TARGET_KEY, PRESET_KEY, *SIDEBAR_KEYS]


def keep_widget_state() -> None:
    """Re-assign every persistent widget value. Call it on every run, before any page draws."""
    keys = [*PERSISTENT_KEYS, *(param_key(field.name) for field in param_fields())]
    for key in keys:
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]
