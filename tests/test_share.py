"""Share links: query parameters in, the same preset and parameters out; bad values warn."""

from pathlib import Path
from urllib.parse import parse_qsl

import pytest
from streamlit.testing.v1 import AppTest

import app.presets
import semshare_core as ss
from app.param_specs import param_fields, spec_for
from app.share import build_query, parse_query, preset_slug
from app.sidebar import widen_to_include

APP_PATH = Path(__file__).resolve().parent.parent / "streamlit_app.py"
PRESETS = app.presets.load_presets()


def changed_value(item):
    """A valid value other than the default, inside the sidebar widget's range."""
    spec = widen_to_include(spec_for(item), item.default)
    if spec.kind == "toggle":
        return not item.default
    if spec.kind == "select_slider":
        return next(option for option in spec.options if option != item.default)
    if spec.kind == "slider":
        return spec.max_value if spec.max_value != item.default else spec.min_value
    return item.default + 1


def every_field_changed() -> ss.PipelineParams:
    return ss.PipelineParams(**{item.name: changed_value(item) for item in param_fields()})


def test_query_round_trip_every_field():
    params = every_field_changed()
    query = build_query(PRESETS[1], params, "Answer briefly.", 512)

    shared = parse_query(query, PRESETS)

    assert shared.warnings == []
    assert shared.preset == PRESETS[1]
    assert shared.params == params.to_dict()
    assert shared.instruction == "Answer briefly."
    assert shared.truncate == 512


def test_query_leaves_out_defaults():
    query = build_query(None, ss.PipelineParams(lsh_bits=64), ss.DEFAULT_INSTRUCTION, None)

    assert query == {"lsh_bits": "64"}


def test_missing_fields_get_defaults():
    shared = parse_query({"hd_fraction": "0.25"}, PRESETS)

    assert shared.params == ss.PipelineParams(hd_fraction=0.25).to_dict()
    assert shared.preset is None


@pytest.mark.parametrize("name, value, reason", [
    ("lsh_bits", "sixty", "expected a whole number"),
    ("lsh_bits", "100", "expected one of 8, 16"),
    ("hd_fraction", "1.5", "expected a value from 0.0 to 1.0"),
    ("hd_fraction", "nan", "expected a finite number"),
    ("retention", "maybe", "expected true or false"),
    ("reuse_mode", "copy", "expected one of fuzzy, zeros, random"),
    ("max_new_tokens", "-1", "expected a value from 0 to 512"),
    ("lsh_seed", "1.5", "expected a whole number"),
])
def test_bad_value_warns_and_uses_default(name, value, reason):
    shared = parse_query({name: value}, PRESETS)
    default = next(item.default for item in param_fields() if item.name == name)

    assert shared.params[name] == default
    assert len(shared.warnings) == 1
    assert name in shared.warnings[0]
    assert reason in shared.warnings[0]


def test_bad_truncate_and_preset_warn():
    shared = parse_query({"truncate": "many", "preset": "no-such-preset"}, PRESETS)

    assert shared.truncate == 0
    assert shared.preset is None
    assert any("truncate" in warning for warning in shared.warnings)
    assert any("no-such-preset" in warning for warning in shared.warnings)


@pytest.mark.slow
def test_app_applies_link_and_rebuilds_it():
    query = {"preset": preset_slug(PRESETS[2].name), "lsh_bits": "64", "rope_in_matching": "true",
             "hd_fraction": "0.25", "truncate": "256"}
    at = AppTest.from_file(str(APP_PATH), default_timeout=300)
    at.query_params = dict(query)
    at.run()

    assert not at.exception, [item.value for item in at.exception]
    assert not at.warning, [item.value for item in at.warning]
    assert at.selectbox(key="preset").value == PRESETS[2].name
    assert at.text_area(key="target_text").value == PRESETS[2].target
    assert at.sidebar.select_slider(key="param_lsh_bits").value == 64
    assert at.sidebar.toggle(key="param_rope_in_matching").value is True
    assert at.sidebar.slider(key="param_hd_fraction").value == 0.25
    link = at.sidebar.code[0].value
    assert dict(parse_qsl(link.split("?", 1)[1])) == query


@pytest.mark.slow
def test_app_warns_on_bad_link_value():
    at = AppTest.from_file(str(APP_PATH), default_timeout=300)
    at.query_params = {"hd_fraction": "7", "lsh_tables": "x"}
    at.run()

    assert not at.exception, [item.value for item in at.exception]
    warnings = [item.value for item in at.warning]
    assert any("hd_fraction" in warning and "default 0.4" in warning for warning in warnings)
    assert any("lsh_tables" in warning for warning in warnings)
    assert at.sidebar.slider(key="param_hd_fraction").value == 0.4


@pytest.mark.slow
def test_app_link_notes_custom_texts():
    at = AppTest.from_file(str(APP_PATH), default_timeout=300).run()
    at.text_area(key="target_text").set_value("A text of my own.")
    at.sidebar.slider(key="param_tail_tokens").set_value(4).run()

    assert at.sidebar.code[0].value == "?tail_tokens=4"
    assert any("do not fit in a URL" in caption.value for caption in at.sidebar.caption)
