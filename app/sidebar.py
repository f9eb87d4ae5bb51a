"""Sidebar: model, device, prompt options and one widget per PipelineParams field."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import streamlit as st

import semshare_core as ss
from semshare_core.catalog import SUGGESTED_MODELS
from app.model_loader import available_devices
from app.param_specs import GROUPS, ParamSpec, param_fields, spec_for
from app.share import apply_share_query, render_share_link

EMBEDDED_CHOICE = "Embedded SmolLM2-135M-Instruct"
SUGGESTED_CHOICE = "Suggested hub model"
CUSTOM_CHOICE = "Local folder or hub id"
# Keys of the sidebar's widgets other than the parameters, kept across page switches.
SIDEBAR_KEYS = ("model_source", "model_path", "suggested_model", "device", "instruction", "truncate")


@dataclass(frozen=True)
class Settings:
    """Everything the sidebar sets for the next run."""

    model_name: str | None      # None selects the embedded model
    device: str
    instruction: str
    truncate: int | None        # document tokens to keep, or None for all
    params: ss.PipelineParams | None  # None while a parameter is invalid


def param_key(name: str) -> str:
    return f"param_{name}"


def render_sidebar(show_share_link: bool = True) -> Settings:
    # A share link's values go into session state before the widgets that show them are drawn.
    apply_share_query()
    with st.sidebar:
        st.header("Settings")
        model_name, device = _model_controls()
        instruction, truncate = _prompt_controls()
        params = _param_controls()
        if show_share_link:
            render_share_link(params, instruction, truncate)
    return Settings(model_name, device, instruction, truncate, params)


def _model_controls() -> tuple[str | None, str]:
    # Model and device select the cached bundle, so changing either loads another model.
    source = st.radio("Model", [EMBEDDED_CHOICE, SUGGESTED_CHOICE, CUSTOM_CHOICE], key="model_source",
                      help="The embedded model ships with the project and needs no network. "
                           "Other models must be Llama, Mistral or Qwen2 style.")
    model_name = None
    if source == SUGGESTED_CHOICE:
        model_name = _suggested_model()
    if source == CUSTOM_CHOICE:
        path = st.text_input("Hub id or local folder", key="model_path",
                             placeholder="/models/Llama-3.2-1B-Instruct",
                             help="A folder with config.json, tokenizer and weights, or a hub id "
                                  "(a hub id needs network access).").strip()
        if path:
            model_name = path
        else:
            st.caption("No path given: the embedded model is used.")
    device = st.selectbox("Device", available_devices(), key="device",
                          help="Where the model runs. CUDA appears only when a GPU is visible to PyTorch.")
    return model_name, device


def _suggested_model() -> str:
    hub_models = [info for info in SUGGESTED_MODELS if info.model_id != ss.EMBEDDED_MODEL_ID]
    info = st.selectbox("Suggested model", hub_models, key="suggested_model",
                        format_func=lambda item: f"{item.model_id} ({item.family}, {item.parameters})",
                        help="Models of the supported families. Each is downloaded from the hub "
                             "on first use, which needs network access.")
    st.caption(f"{info.family}, {info.parameters} parameters: {info.note}.")
    return info.model_id


def _prompt_controls() -> tuple[str, int | None]:
    # Defaults go into session state, not `value=`, because page_state re-assigns these keys on every run.
    st.session_state.setdefault("instruction", ss.DEFAULT_INSTRUCTION)
    st.session_state.setdefault("truncate", 0)
    with st.expander("Prompt"):
        instruction = st.text_input("Instruction", key="instruction",
                                    help="Text placed before each document inside the chat template.")
        truncate = st.number_input("Truncate documents to", min_value=0, max_value=32768, step=64,
                                   key="truncate",
                                   help="Keep only this many document tokens of each text (unit: tokens). "
                                        "0 keeps the whole document.")
    return instruction, (int(truncate) or None)


def _param_controls() -> ss.PipelineParams | None:
    st.subheader("SemShareKV parameters")
    st.button("Reset to defaults", on_click=_reset_params, key="reset_params")
    _init_param_state()

    fields = param_fields()
    help_texts = ss.PipelineParams.help_texts()
    values = {}
    for group in GROUPS:
        members = [field for field in fields if spec_for(field).group == group]
        if not members:
            continue
        with st.expander(group, expanded=group == GROUPS[0]):
            for field in members:
                spec = widen_to_include(spec_for(field), field.default)
                values[field.name] = _param_widget(field.name, spec, help_texts.get(field.name, ""))

    try:
        return ss.PipelineParams(**values)
    except ss.InvalidParameterError as error:
        st.error(f"Invalid parameter: {error}")
        return None


def widen_to_include(spec: ParamSpec, default) -> ParamSpec:
    """Return the spec widened so that the library's default is a valid widget value.

    A default changed in the library would otherwise make Streamlit raise on the first render.
    """
    if spec.kind == "select_slider" and default not in spec.options:
        return dataclasses.replace(spec, options=tuple(sorted({*spec.options, default})))
    if spec.kind in ("slider", "number") and spec.min_value is not None and spec.max_value is not None:
        return dataclasses.replace(spec, min_value=min(spec.min_value, default),
                                   max_value=max(spec.max_value, default))
    return spec


def _param_widget(name: str, spec: ParamSpec, help_text: str):
    key = param_key(name)
    help_text = f"{help_text} Unit: {spec.unit}." if spec.unit else help_text
    if spec.kind == "toggle":
        return st.toggle(spec.label, key=key, help=help_text)
    if spec.kind == "select_slider":
        return st.select_slider(spec.label, options=list(spec.options), key=key, help=help_text)
    if spec.kind == "slider":
        return st.slider(spec.label, min_value=spec.min_value, max_value=spec.max_value,
                         step=spec.step, key=key, help=help_text)
    return st.number_input(spec.label, min_value=spec.min_value, max_value=spec.max_value,
                           step=spec.step, key=key, help=help_text)


def _init_param_state() -> None:
    # Defaults go into session state once, so widgets have no `value=` and Reset can overwrite them.
    for field in param_fields():
        st.session_state.setdefault(param_key(field.name), field.default)


def _reset_params() -> None:
    for field in param_fields():
        st.session_state[param_key(field.name)] = field.default
