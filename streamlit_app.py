"""SemShareKV Explorer: reuse one prompt's KV cache for a paraphrase and see what happens.

Start with `streamlit run streamlit_app.py`. The modules in `app/pages/` draw the pages,
and `semshare_core` does the computation.
"""

import streamlit as st

from app.pages import explore, prompt_store
from app.pages import walkthrough
from app.pages import benchmarks
from app.page_state import keep_widget_state

st.set_page_config(page_title="SemShareKV Explorer", layout="wide")
keep_widget_state()

PAGES = [
    st.Page(explore.render, title="Explore", url_path="explore", default=True),
    st.Page(prompt_store.render, title="Prompt store", url_path="prompt-store"),
    st.Page(walkthrough.render, title="Walkthrough", url_path="walkthrough"),
    st.Page(benchmarks.render, title="Benchmarks", url_path="benchmarks"),
]

st.navigation(PAGES).run()
