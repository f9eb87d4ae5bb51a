"""Loaders of the real paired-text formats; skipped when ../shared/data is absent."""

import pytest

from semshare_core.bench import bible, meetings, onestop, rewrites
from semshare_core.bench.pairs import DataNotFoundError, data_dir, normalise, normalised_index


def test_missing_data_folder_raises(tmp_path):
    with pytest.raises(DataNotFoundError, match="--data"):
        data_dir(tmp_path / "absent")


def test_normalised_index_maps_back():
    text = "It’s “big” – really."
    norm, offsets = normalised_index(text)

    assert norm == normalise(text) == "itsbigreally"
    assert text[offsets[0]] == "I"
    assert text[offsets[-1]] == "y"


def test_stories_present_at_three_levels(shared_data):
    names = onestop.story_names(shared_data)

    assert len(names) > 100
    assert "Amazon" in names


def test_story_drops_byte_order_mark(shared_data):
    paragraphs = onestop.story_paragraphs(shared_data, "Amazon", "adv")

    assert paragraphs[0].startswith("When you see the word Amazon")


def test_cp1252_story_decodes(tmp_path):
    # The corpus has cp1252 files beside UTF-8 ones; this copy may not include them.
    folder = tmp_path / "onestopenglish" / "Int-Txt"
    folder.mkdir(parents=True)
    (folder / "Ships-int.txt").write_bytes("It’s loud – very.\r\nSecond line.".encode("cp1252"))

    paragraphs = onestop.story_paragraphs(tmp_path, "Ships", "int")

    assert paragraphs == ["It’s loud – very.", "Second line."]


def test_aligned_sentences_are_pairs(shared_data):
    pairs = onestop.aligned_sentences(shared_data, "int")

    assert len(pairs) > 1000
    assert pairs[0].advanced.startswith("Brazil and Peru have lodged objections")
    assert pairs[0].rewrite.startswith("Brazil and Peru have made objections")


def test_sentence_without_dashes_is_located(shared_data):
    # The aligned line drops the dashes around "or generic top-level domains".
    paragraphs, located = onestop.rewritable_sentences(shared_data, "Amazon", "int")
    texts = [paragraphs[item.paragraph][item.start:item.end] for item in located]

    assert any(text.startswith("But these categories – or generic") for text in texts)
    assert all(text.endswith(".") for text in texts if text.startswith("But these categories"))


def test_controlled_share_zero_keeps_text(shared_data):
    pair = rewrites.controlled_pair(shared_data, 0, 0.0, 800)

    assert pair.target == pair.reference
    assert pair.meta["replaced_sentences"] == 0


def test_controlled_share_rewrites_sentences(shared_data):
    pair = rewrites.controlled_pair(shared_data, 0, 0.5, 800)

    assert pair.target != pair.reference
    assert pair.meta["replaced_sentences"] == pytest.approx(0.5 * pair.meta["aligned_sentences"], abs=len(pair.meta["stories"]))
    assert pair.reference.count("\n") == pair.target.count("\n")


def test_controlled_length_reaches_request(shared_data):
    pair = rewrites.controlled_pair(shared_data, 0, 0.3, 2000)

    assert len(pair.meta["stories"]) >= 2
    assert 1.35 * len(pair.reference.split()) >= 2000 * 0.9


def test_controlled_continuation_cut_from_both(shared_data):
    pair = rewrites.controlled_pair(shared_data, 0, 0.3, 800)
    first_line = pair.continuation.strip().splitlines()[0]

    assert pair.continuation.startswith("\n")
    assert first_line not in pair.target
    assert first_line[:60] not in pair.reference


def test_whole_pair_reference_stops_before_continuation(shared_data):
    pair = rewrites.whole_pair(shared_data, "Amazon", "int")

    assert pair.meta["reference_cut"] == "alignment"
    assert "Argentina" in pair.continuation
    assert "Argentina" not in pair.reference
    assert pair.target.startswith("When you see the word Amazon")


def test_meeting_markers_removed(shared_data):
    meeting = meetings.load_meeting(shared_data, "ES2002a")
    text = "\n".join(meeting.utterances)

    assert "{vocalsound}" not in text
    assert "{disfmarker}" not in text
    assert " ." not in text
    assert meeting.summary.startswith("This was the kick-off meeting")


def test_meeting_pair_continues_target(shared_data):
    pair = meetings.meeting_pair(shared_data, "ES2002", "ES2007", 1000)
    meeting = meetings.load_meeting(shared_data, "ES2007a")
    n_prompt = pair.target.count("\n") + 1

    assert pair.continuation.splitlines()[1] == meeting.utterances[n_prompt]
    assert pair.gold_summary == meeting.summary
    assert pair.reference.startswith("Project Manager")


def test_bible_verses_align(shared_data):
    pair, reference, target = bible.bible_pair(shared_data, "Matthew", [5, 6])

    assert reference.keys == target.keys
    assert target.keys[0] == "5:1"
    assert target.text[slice(*target.spans[0])].startswith("On seeing the crowds")
    assert reference.text[slice(*reference.spans[0])].startswith("And seeing the multitudes")


def test_bible_continuation_held_out(shared_data):
    pair, reference, target = bible.bible_pair(shared_data, "Matthew", [5, 6], continuation_verses=3)
    held_out = bible.chapter_verses(shared_data, "Twenty", "Matthew", [6])[-3:]

    assert "6:34" not in target.keys
    assert pair.continuation.strip().startswith(held_out[0].text)
    assert held_out[0].text not in pair.target


def test_bible_old_testament_of_twenty_is_empty(shared_data):
    with pytest.raises(DataNotFoundError, match="empty"):
        bible.chapter_verses(shared_data, "Twenty", "Genesis", [1])
