"""The app's pages; `streamlit_app.py` registers them with `st.navigation`."""
