"""Line diffs with numbers and explicit markers; sources annotated with their problems."""
import pytest

from namalms.content.diffing import annotate_lines, side_by_side, unified_diff, unified_text

OLD = "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n"


def kinds(diff):
    return [(row.kind, row.old_number, row.new_number, row.text) for row in diff.lines]


def test_identical_texts_have_no_rows():
    diff = unified_diff(OLD, OLD)
    assert diff.is_empty and diff.lines == () and diff.summary == "keine Unterschiede"


def test_a_changed_line_is_a_removed_and_an_added_row_with_both_line_numbers():
    diff = unified_diff(OLD, OLD.replace("e\n", "E\n"), context=1)
    assert kinds(diff) == [
        ("hunk", 4, 4, "Zeilen 4–6 → 4–6"),
        ("context", 4, 4, "d"),
        ("removed", 5, None, "e"),
        ("added", None, 5, "E"),
        ("context", 6, 6, "f"),
    ]
    assert diff.summary == "1 Zeile hinzugefügt, 1 Zeile entfernt"


@pytest.mark.parametrize("old, new, added, removed", [
    ("", "x\ny\n", 2, 0),
    ("x\ny\n", "", 0, 2),
    (OLD, OLD + "k\n", 1, 0),
    (OLD, "a\n" + OLD, 1, 0),
    ("x\r\ny\r\n", "x\ny\n", 0, 0),  # line endings alone are no change
])
def test_counts(old, new, added, removed):
    diff = unified_diff(old, new)
    assert (diff.added, diff.removed) == (added, removed)


def test_markers_and_labels_do_not_rely_on_colour():
    rows = unified_diff("a\n", "b\n").lines
    assert [(r.marker, r.label) for r in rows[1:]] == [("−", "entfernt"), ("+", "hinzugefügt")]


def test_far_apart_changes_become_separate_hunks():
    new = OLD.replace("a\n", "A\n").replace("j\n", "J\n")
    hunks = [row for row in unified_diff(OLD, new, context=1).lines if row.kind == "hunk"]
    assert len(hunks) == 2


def test_side_by_side_pairs_replaced_lines():
    rows = side_by_side("a\nb\nc\n", "a\nB\nc\nd\n")
    body = [(r.kind, r.old_number, r.old_text, r.new_number, r.new_text) for r in rows if r.kind != "hunk"]
    assert body == [("context", 1, "a", 1, "a"), ("changed", 2, "b", 2, "B"), ("context", 3, "c", 3, "c"),
                    ("added", None, None, 4, "d")]


def test_unified_text_is_a_classic_diff():
    text = unified_text("a\n", "b\n", old_label="rev1", new_label="rev2")
    assert text.splitlines()[:2] == ["--- rev1", "+++ rev2"] and "-a" in text and "+b" in text


def test_annotate_lines_attaches_problems_to_their_lines_and_keeps_out_of_range_ones():
    lines = annotate_lines("---\nid: x\n---\n", [(2, "falsch"), (99, "am Ende"), (0, "Datei")])
    assert [(l.number, l.text, l.problems) for l in lines] == [
        (1, "---", ("Datei",)), (2, "id: x", ("falsch",)), (3, "---", ("am Ende",))]


def test_annotate_lines_of_an_empty_text_has_one_line():
    assert [(l.number, l.problems) for l in annotate_lines("", [(1, "leer")])] == [(1, ("leer",))]
