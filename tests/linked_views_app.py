"""A small Streamlit app for the browser test of linked selection: hand-made result, no model.

Run by tests/test_linked_views.py with `streamlit run`; it draws the token picker and the
three charts whose points select a token when clicked.
"""

import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent
sys.path.insert(0, str(TESTS.parent))
sys.path.insert(0, str(TESTS))

import streamlit as st  # noqa: E402

import test_app_views as hand_made  # noqa: E402
from app import linked  # noqa: E402
from app.views import alignment, deviation  # noqa: E402

if "hand_made_result" not in st.session_state:
    st.session_state["hand_made_result"] = hand_made.make_result(n_target=200, n_reference=180)
result = st.session_state["hand_made_result"]

st.title("Linked selection")
linked.render_selection(result)
alignment.render(result)
deviation.render(result)
