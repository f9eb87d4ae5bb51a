"""Streamlit front end of SemShareKV Explorer.

The library in `semshare_core` does all computation. These modules only collect
inputs, start a run and draw the stored `RunResult`.
"""
