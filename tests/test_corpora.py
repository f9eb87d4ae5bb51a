"""Corpus pairs: real OneStopEnglish and QMSum files, uploads staged into their layout, bad input."""

import json
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from semshare_core import corpora
from semshare_core.corpora import CorpusError

MAX_BYTES = 2_000_000
APP_PATH = Path(__file__).resolve().parent.parent / "streamlit_app.py"


def test_layout_of_data_root(shared_data):
    assert corpora.detect_layout(shared_data) == (corpora.ONESTOP, shared_data)


def test_layout_of_onestop_folder(shared_data):
    assert corpora.detect_layout(shared_data / "onestopenglish") == (corpora.ONESTOP, shared_data)


def test_layout_of_qmsum_train_folder(shared_data):
    assert corpora.detect_layout(shared_data / "qmsum-ami" / "train") == (corpora.QMSUM, shared_data)


def test_onestop_pair_from_real_story(shared_data):
    names = corpora.onestop_story_names(shared_data, "ele")
    pair = corpora.onestop_pair(shared_data, names[0], "ele")

    assert len(names) > 100
    assert len(pair.reference.split()) > 300
    assert len(pair.target.split()) > 200
    assert pair.reference != pair.target
    assert not pair.reference.startswith("\ufeff")


def test_meeting_pair_from_real_meetings(shared_data):
    pair = corpora.meeting_pair(shared_data, "ES2002a", "ES2003a")

    assert "ES2002a" in corpora.meeting_names(shared_data)
    assert pair.reference.splitlines()[0].startswith("Project Manager: ")
    assert "{vocalsound}" not in pair.reference
    assert "{disfmarker}" not in pair.target
    assert len(pair.target.split()) > 1000


def test_meeting_pair_rejects_same_meeting(shared_data):
    with pytest.raises(CorpusError, match="two different meetings"):
        corpora.meeting_pair(shared_data, "ES2002a", "ES2002a")


def test_staged_story_uploads_load(shared_data, tmp_path):
    name = corpora.onestop_story_names(shared_data, "int")[0]
    folder = shared_data / "onestopenglish"
    advanced = (folder / "Adv-Txt" / f"{name}-adv.txt").read_bytes()
    # Re-encode the rewrite as Windows-1252, as some files of the published corpus are.
    rewrite = (folder / "Int-Txt" / f"{name}-int.txt").read_bytes().decode("utf-8-sig")
    files = [(f"{name}-adv.txt", advanced), (f"{name}-int.txt", rewrite.encode("cp1252", errors="replace"))]
    root = corpora.stage_uploads(files, corpora.ONESTOP, tmp_path, MAX_BYTES)

    assert corpora.onestop_story_names(root, "int") == [name]
    assert corpora.onestop_story_names(root, "ele") == []
    assert corpora.onestop_pair(root, name, "int").target.split() == rewrite.split()


def test_staged_meeting_uploads_load(shared_data, tmp_path):
    files = [(f"{name}.json", (shared_data / "qmsum-ami" / "train" / f"{name}.json").read_bytes())
             for name in ("ES2002a", "ES2003a")]
    root = corpora.stage_uploads(files, corpora.QMSUM, tmp_path, MAX_BYTES)

    assert corpora.meeting_names(root) == ["ES2002a", "ES2003a"]
    assert corpora.meeting_pair(root, "ES2002a", "ES2003a").reference


def test_layout_unknown_folder(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")

    with pytest.raises(CorpusError, match="no known corpus layout"):
        corpora.detect_layout(tmp_path)


def test_layout_missing_folder(tmp_path):
    with pytest.raises(CorpusError, match="Folder not found"):
        corpora.detect_layout(tmp_path / "absent")


def test_layout_misnamed_onestop_folder(tmp_path):
    (tmp_path / "Texts" / "Adv-Txt").mkdir(parents=True)

    with pytest.raises(CorpusError, match="named 'onestopenglish'"):
        corpora.detect_layout(tmp_path / "Texts")


@pytest.mark.parametrize("name", ["story.txt", "story-advanced.txt", "story-adv.md"])
def test_stage_rejects_story_name(tmp_path, name):
    with pytest.raises(CorpusError, match="NAME-adv.txt"):
        corpora.stage_uploads([(name, b"text")], corpora.ONESTOP, tmp_path, MAX_BYTES)


def test_stage_rejects_meeting_name(tmp_path):
    with pytest.raises(CorpusError, match="NAME.json"):
        corpora.stage_uploads([("meeting.txt", b"{}")], corpora.QMSUM, tmp_path, MAX_BYTES)


def test_stage_rejects_oversized_file(tmp_path):
    with pytest.raises(CorpusError, match="upload limit of 10 bytes"):
        corpora.stage_uploads([("a-adv.txt", b"x" * 11)], corpora.ONESTOP, tmp_path, 10)


def test_stage_drops_folder_part(tmp_path):
    corpora.stage_uploads([("../../evil-adv.txt", b"text")], corpora.ONESTOP, tmp_path, MAX_BYTES)

    assert (tmp_path / "onestopenglish" / "Adv-Txt" / "evil-adv.txt").is_file()


@pytest.mark.parametrize("content, message", [
    (b"not json", "not a QMSum meeting file"),
    (json.dumps({"meeting_transcripts": []}).encode(), "not a QMSum meeting file"),
    (json.dumps({"meeting_transcripts": ["a line"], "general_query_list": []}).encode(), "speaker and content"),
    (json.dumps({"meeting_transcripts": [{"speaker": "A", "content": "{vocalsound}"}],
                 "general_query_list": []}).encode(), "no transcript text"),
    (b"\xff\xfe\x00\xd8", "not a QMSum meeting file"),
])
def test_bad_meeting_file(tmp_path, content, message):
    root = corpora.stage_uploads([("bad.json", content)], corpora.QMSUM, tmp_path, MAX_BYTES)

    with pytest.raises(CorpusError, match=message):
        corpora.meeting_text(root, "bad")


def test_text_pair_decodes_encodings():
    pair = corpora.text_pair(("a.txt", "café".encode("cp1252")), ("b.txt", "\ufeffcafé".encode("utf-8")), MAX_BYTES)

    assert pair.reference == "café"
    assert pair.target == "café"


@pytest.mark.parametrize("reference, message", [
    (b"\x00\x01binary", "The reference file: .*binary"),
    (b"   \n", "contains no text"),
    (b"x" * 20, "limit is 10"),
])
def test_text_pair_rejects(reference, message):
    with pytest.raises(CorpusError, match=message):
        corpora.text_pair(("a.txt", reference), ("b.txt", b"fine"), 10 if len(reference) == 20 else MAX_BYTES)


def test_unknown_level(shared_data):
    with pytest.raises(CorpusError, match="Unknown target level"):
        corpora.onestop_story_names(shared_data, "adv")


@pytest.mark.slow
def test_explore_loads_uploaded_text_pair():
    at = AppTest.from_file(str(APP_PATH), default_timeout=300).run()
    at.file_uploader(key="explore_corpus_text_reference").upload("ref.txt", b"The council approved a path.", "text/plain")
    at.file_uploader(key="explore_corpus_text_target").upload("tgt.txt", "A path was approved.".encode("cp1252"),
                                                               "text/plain")
    at.run()
    at.button(key="explore_corpus_load").click().run()

    assert not at.exception, [item.value for item in at.exception]
    assert at.text_area(key="reference_text").value == "The council approved a path."
    assert at.text_area(key="target_text").value == "A path was approved."


@pytest.mark.slow
def test_explore_shows_error_for_misnamed_story_upload():
    at = AppTest.from_file(str(APP_PATH), default_timeout=300).run()
    at.radio(key="explore_corpus_format").set_value("OneStopEnglish stories").run()
    at.file_uploader(key="explore_corpus_onestopenglish_files").upload("story.txt", b"text", "text/plain")
    at.run()

    assert not at.exception, [item.value for item in at.exception]
    assert any("NAME-adv.txt" in item.value for item in at.error)


@pytest.mark.slow
def test_explore_loads_installed_corpora(shared_data):
    at = AppTest.from_file(str(APP_PATH), default_timeout=300).run()
    at.radio(key="explore_corpus_source").set_value("Corpora installed with the app").run()
    at.radio(key="explore_corpus_folder_corpus").set_value("QMSum meetings").run()
    at.selectbox(key="explore_corpus_meeting_reference").set_value("ES2002a").run()
    at.button(key="explore_corpus_load").click().run()

    assert not at.exception, [item.value for item in at.exception]
    assert not at.error, [item.value for item in at.error]
    target_meeting = at.selectbox(key="explore_corpus_meeting_target").value
    expected = corpora.meeting_pair(shared_data, "ES2002a", target_meeting)
    assert target_meeting != "ES2002a"
    assert target_meeting.endswith("a")  # another team's kick-off meeting is preselected
    assert at.text_area(key="reference_text").value == expected.reference
    assert at.text_area(key="target_text").value == expected.target
