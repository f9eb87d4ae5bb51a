"""Download buttons for tables (CSV) and figures (PNG)."""

from __future__ import annotations

import logging
import os
import shutil

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

logger = logging.getLogger(__name__)

# Kaleido 1.x renders figures in a Chrome or Chromium it finds on the machine.
CHROME_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")


def csv_download(table: pd.DataFrame, file_name: str, key: str, label: str = "Download table (CSV)") -> None:
    st.download_button(label, table.to_csv(index=False), file_name=file_name, mime="text/csv",
                       on_click="ignore", key=key)


def find_chrome() -> str | None:
    """Return the path of a Chrome or Chromium for Kaleido, or None when the machine has none."""
    configured = os.environ.get("BROWSER_PATH")
    if configured and os.path.isfile(configured):
        return configured
    for name in CHROME_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


def figure_png(figure: go.Figure, width: int = 1200, height: int | None = None) -> bytes:
    """Render a figure to PNG bytes with Kaleido. Raises RuntimeError when no browser is found."""
    chrome = find_chrome()
    if chrome is None:
        raise RuntimeError("no Chrome or Chromium was found on the server, and Kaleido needs one to "
                           "render figures. Use the camera button above the figure instead.")
    os.environ.setdefault("BROWSER_PATH", chrome)
    return figure.to_image(format="png", width=width, height=height or figure.layout.height or 500)


def png_download(figure: go.Figure, file_name: str, key: str) -> None:
    """Offer a server-side PNG of the figure, rendered only when the user asks for it.

    Rendering starts a headless browser and takes seconds, so a button first prepares
    the image and a download button then serves it.
    """
    state_key = f"{key}_png"
    signature = hash(figure.to_json())
    if st.button("Prepare PNG", key=f"{key}_prepare",
                 help="Render this figure on the server as a PNG file. The camera button in the "
                      "figure's toolbar saves the same view from the browser."):
        try:
            st.session_state[state_key] = (signature, figure_png(figure))
        except Exception as error:  # noqa: BLE001 - Kaleido raises several types; show them, never a traceback
            logger.warning("PNG export of %s failed: %s", file_name, error)
            st.warning(f"Could not render the PNG: {error}")
            st.session_state[state_key] = None
    # An image prepared for an earlier version of the figure is not offered.
    prepared = st.session_state.get(state_key)
    if prepared and prepared[0] == signature:
        st.download_button("Download figure (PNG)", prepared[1], file_name=file_name, mime="image/png",
                           on_click="ignore", key=f"{key}_download")
