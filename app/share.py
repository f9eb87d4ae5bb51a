"""Share links: the preset, prompt options and every pipeline parameter as URL query parameters.

A link carries a preset's name, not its texts, because texts of a few thousand words do
not fit in a URL. Opening a link sets each parameter it names and resets the others to
their defaults. A value that cannot be parsed or lies outside the sidebar widget's range
gives a warning naming the parameter and falls back to the default.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Mapping
from urllib.parse import urlencode, urlsplit

import streamlit as st

import semshare_core as ss
from app.inputs import PRESET_KEY, REFERENCE_KEY, TARGET_KEY
from app.param_specs import ParamSpec, param_fields, spec_for
from app.presets import Preset, load_presets

PRESET_PARAM = "preset"
INSTRUCTION_PARAM = "instruction"
TRUNCATE_PARAM = "truncate"
MAX_INSTRUCTION_CHARS = 500
MAX_TRUNCATE_TOKENS = 32768
APPLIED_KEY = "share_applied_query"
WARNINGS_KEY = "share_warnings"
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


@dataclass
class SharedSettings:
    """What a share link sets, after parsing and validation."""

    preset: Preset | None = None
    params: dict[str, Any] = field(default_factory=dict)   # every PipelineParams field
    instruction: str = ss.DEFAULT_INSTRUCTION
    truncate: int = 0                                        # 0 keeps whole documents
    warnings: list[str] = field(default_factory=list)


def shared_keys() -> set[str]:
    """Return the query parameter names that share links use, so that other pages' parameters are left alone."""
    return {PRESET_PARAM, INSTRUCTION_PARAM, TRUNCATE_PARAM, *(item.name for item in param_fields())}


def preset_slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def build_query(preset: Preset | None, params: ss.PipelineParams, instruction: str, truncate: int | None) -> dict[str, str]:
    """Return the query parameters of a share link, leaving out values equal to the default."""
    query = {}
    if preset is not None:
        query[PRESET_PARAM] = preset_slug(preset.name)
    if instruction != ss.DEFAULT_INSTRUCTION:
        query[INSTRUCTION_PARAM] = instruction
    if truncate:
        query[TRUNCATE_PARAM] = str(truncate)
    for item in param_fields():
        value = getattr(params, item.name)
        if value != item.default:
            query[item.name] = _format(value)
    return query


def _format(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def parse_query(query: Mapping[str, str], presets: list[Preset]) -> SharedSettings:
    """Parse share-link query parameters. Each invalid value becomes a warning and the default."""
    shared = SharedSettings()
    if PRESET_PARAM in query:
        shared.preset = _find_preset(query[PRESET_PARAM], presets, shared.warnings)
    if INSTRUCTION_PARAM in query:
        shared.instruction = _parse_instruction(query[INSTRUCTION_PARAM], shared.warnings)
    if TRUNCATE_PARAM in query:
        shared.truncate = _parse_truncate(query[TRUNCATE_PARAM], shared.warnings)
    for item in param_fields():
        shared.params[item.name] = item.default
        if item.name in query:
            shared.params[item.name] = _parse_param(item, query[item.name], shared.warnings)
    return shared


def _find_preset(value: str, presets: list[Preset], warnings: list[str]) -> Preset | None:
    for preset in presets:
        if value in (preset_slug(preset.name), preset.name):
            return preset
    known = ", ".join(preset_slug(preset.name) for preset in presets) or "none"
    warnings.append(f"Link parameter preset={value!r} names no preset here (known: {known}); "
                    "the texts were left as they are.")
    return None


def _parse_instruction(value: str, warnings: list[str]) -> str:
    if len(value) > MAX_INSTRUCTION_CHARS:
        warnings.append(f"Link parameter instruction is {len(value):,} characters long, above the "
                        f"{MAX_INSTRUCTION_CHARS} allowed; the default instruction is used.")
        return ss.DEFAULT_INSTRUCTION
    return value


def _parse_truncate(value: str, warnings: list[str]) -> int:
    number = _to_int(value)
    if number is None or not 0 <= number <= MAX_TRUNCATE_TOKENS:
        warnings.append(f"Link parameter truncate={value!r} is invalid: expected a whole number of tokens "
                        f"from 0 to {MAX_TRUNCATE_TOKENS}; whole documents are used.")
        return 0
    return number


def _parse_param(item, text: str, warnings: list[str]) -> Any:
    """Parse one parameter and check it against the widget's range and the library's checks."""
    from app.sidebar import widen_to_include  # imported here because app.sidebar imports this module

    spec = widen_to_include(spec_for(item), item.default)
    value, problem = _convert(text, item.type)
    if problem is None:
        problem = _range_problem(value, spec)
    if problem is None:
        try:
            ss.PipelineParams(**{item.name: value})
        except ss.InvalidParameterError as error:
            problem = str(error)
    if problem is not None:
        warnings.append(f"Link parameter {item.name}={text!r} is invalid ({problem}); "
                        f"the default {_format(item.default)} is used.")
        return item.default
    return value


def _convert(text: str, type_name: str) -> tuple[Any, str | None]:
    if type_name == "bool":
        lowered = text.strip().lower()
        if lowered in _TRUE or lowered in _FALSE:
            return lowered in _TRUE, None
        return None, "expected true or false"
    if type_name == "int":
        number = _to_int(text)
        return (number, None) if number is not None else (None, "expected a whole number")
    if type_name == "float":
        try:
            number = float(text)
        except ValueError:
            return None, "expected a number"
        return (number, None) if math.isfinite(number) else (None, "expected a finite number")
    return text, None


def _to_int(text: str) -> int | None:
    try:
        return int(text.strip())
    except ValueError:
        return None


def _range_problem(value: Any, spec: ParamSpec) -> str | None:
    if spec.kind == "select_slider" and value not in spec.options:
        return f"expected one of {', '.join(map(_format, spec.options))}"
    if spec.kind in ("slider", "number") and spec.min_value is not None and spec.max_value is not None:
        if not spec.min_value <= value <= spec.max_value:
            return f"expected a value from {_format(spec.min_value)} to {_format(spec.max_value)}"
    return None


# Streamlit side


def apply_share_query() -> None:
    """Apply a newly opened share link to session state, and show its warnings.

    A link is applied once per distinct set of its query parameters, so later edits in
    the sidebar are not overwritten on every rerun. Call it before the widgets are drawn.
    """
    query = {key: st.query_params[key] for key in shared_keys() if key in st.query_params}
    signature = tuple(sorted(query.items()))
    if query and st.session_state.get(APPLIED_KEY) != signature:
        st.session_state[APPLIED_KEY] = signature
        shared = parse_query(query, load_presets())
        _apply(shared)
        st.session_state[WARNINGS_KEY] = shared.warnings
    if not query:
        st.session_state.pop(WARNINGS_KEY, None)
    for warning in st.session_state.get(WARNINGS_KEY, []):
        st.warning(warning)


def _apply(shared: SharedSettings) -> None:
    from app.sidebar import param_key  # imported here because app.sidebar imports this module

    for name, value in shared.params.items():
        st.session_state[param_key(name)] = value
    st.session_state[INSTRUCTION_PARAM] = shared.instruction
    st.session_state[TRUNCATE_PARAM] = shared.truncate
    if shared.preset is not None:
        st.session_state[PRESET_KEY] = shared.preset.name
        st.session_state[REFERENCE_KEY] = shared.preset.reference
        st.session_state[TARGET_KEY] = shared.preset.target


def current_preset(presets: list[Preset]) -> Preset | None:
    """Return the preset whose texts are in both boxes unchanged, or None for custom texts."""
    reference = st.session_state.get(REFERENCE_KEY)
    target = st.session_state.get(TARGET_KEY)
    if reference is None and presets:
        return presets[0]  # the boxes are filled from the first preset on the first run
    for preset in presets:
        if preset.reference == reference and preset.target == target:
            return preset
    return None


def render_share_link(params: ss.PipelineParams | None, instruction: str, truncate: int | None) -> None:
    """Draw the share link of the current preset and parameters."""
    with st.expander("Share link"):
        if params is None:
            st.caption("Fix the invalid parameter above to get a share link.")
            return
        preset = current_preset(load_presets())
        query = build_query(preset, params, instruction, truncate)
        # st.context.url is None outside a browser session (for example under AppTest).
        base = (st.context.url or "").split("?")[0]
        if base and not urlsplit(base).path:
            base += "/"  # Streamlit gives the root page's address without its slash
        link = f"{base}?{urlencode(query)}" if query else base
        st.code(link or "(the default settings: this page's address reproduces them)", language=None,
                wrap_lines=True)
        if preset is None:
            st.caption("The texts in the boxes are not a preset's, and custom texts do not fit in a URL: the "
                       "link sets the parameters only. Send the texts separately.")
        else:
            st.caption(f"Opening the link loads the preset {preset.name!r} and these parameters.")
