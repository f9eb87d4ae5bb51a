"""Walkthrough page: a guided tour of one SemShareKV run, one step per stage of the method."""

import streamlit as st


def render() -> None:
    st.title("Walkthrough")
