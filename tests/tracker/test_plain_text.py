"""Text fields take plain text: tabs and line breaks, never another control character.

The rule is the command catalogue's (every field of every command), so the API's bodies and the
forms refuse the same values, each with an InvalidInput naming the field.
"""

from __future__ import annotations

import typing
from datetime import date

import pytest

from domain.base import plain_text
from domain.errors import InvalidInput
from tracker import commands as c

# Control characters a person cannot mean in a text: C0 but tab and line feed, DEL, C1; and what
# is no character at all (a lone surrogate half, U+FFFE, U+FFFF).
REFUSED = ["\x00", "\x01", "\x07", "\x08", "\x0b", "\x0c", "\x1b", "\x1f", "\x7f", "\x80", "\x85",
           "\x9f", "\ud800", "\udfff", "\ufffe", "\uffff"]
KEPT = ["\t", "\n", "\u00a0", "\u200f", "\u2028", "\ufdd0", "\U0010fffd", "é", "<&>\"'", "]]>"]

# The fields that take text, written out: each must refuse (a sample of every kind of field).
TEXT_FIELDS = {
    c.StartDialogue: ["slug", "name", "country", "locality", "description", "note"],
    c.AddParty: ["name"],
    c.RecordMeeting: ["title", "summary", "attendance"],
    c.RaiseCase: ["title", "description", "raised_by"],
    c.ResolveCase: ["summary"],
    c.ProposeCommitment: ["title", "description", "private_note", "required_parties", "case_id"],
    c.AmendProposal: ["title", "description", "reason"],
    c.ReportProgress: ["note"],
    c.AttachEvidence: ["description", "url", "sha256"],
    c.CompleteCommitment: ["summary", "party_id"],
    c.SetVisibility: ["reason"],
    c.AddComment: ["note"],
}


def valid_body(command: type[c.Command]) -> dict[str, typing.Any]:
    """Values every required field of the command takes."""
    samples = {"held_on": date(2026, 3, 1), "due_date": date(2030, 1, 1), "percent": 10,
               "public": True, "required_parties": ["p"], "kind": "police",
               "category": "violence", "attendance": {"p": 1}}
    return {name: samples.get(name, "x") for name, info in command.model_fields.items()
            if info.is_required()}


def with_text(body: dict, name: str, text: str) -> dict:
    value = body.get(name)
    if isinstance(value, list) or name == "required_parties":
        return {**body, name: [text]}
    if isinstance(value, dict) or name == "attendance":
        return {**body, name: {text: 1}}
    return {**body, name: text}


@pytest.mark.parametrize("command", list(TEXT_FIELDS), ids=lambda k: k.__name__)
@pytest.mark.parametrize("character", REFUSED, ids=lambda ch: f"U+{ord(ch):04X}")
def test_every_text_field_refuses_a_control_character_naming_the_field(command, character):
    body = valid_body(command)
    command.parse(body)  # the body itself is fine
    for name in TEXT_FIELDS[command]:
        with pytest.raises(InvalidInput) as refused:
            command.parse(with_text(body, name, f"before{character}after"))
        assert refused.value.field == name
        words = name.replace("_", " ")
        assert refused.value.message.startswith(f"{words} "), refused.value.message
        expected = "not valid Unicode" if "\ud800" <= character <= "\udfff" else f"U+{ord(character):04X}"
        assert expected in refused.value.message


def test_every_field_of_every_command_is_checked():
    """Not only the fields written out above: any text in any command (a new one too)."""
    checked = 0
    for command in c.COMMANDS:
        body = valid_body(command)
        for name, info in command.model_fields.items():
            if str not in typing.get_args(info.annotation) and info.annotation is not str \
                    and "str" not in str(info.annotation):
                continue
            with pytest.raises(InvalidInput) as refused:
                command.parse(with_text(body, name, "a\x0bb"))
            assert refused.value.field == name, (command.__name__, name)
            checked += 1
    assert checked >= 60


@pytest.mark.parametrize("text", KEPT, ids=repr)
def test_tabs_line_breaks_and_other_characters_are_kept(text):
    assert c.AddComment.parse({"note": f"a{text}b"}).note == f"a{text}b"
    assert plain_text(f"a{text}b", "note") == f"a{text}b"


def test_a_carriage_return_is_a_line_break_as_a_browser_sends_it():
    """A textarea's lines come as CR LF; an old Mac's as CR: both are stored as LF."""
    assert c.AddComment.parse({"note": "one\r\ntwo\rthree\n\rfour"}).note == "one\ntwo\nthree\n\nfour"
    assert plain_text("one\r\ntwo", "note") == "one\ntwo"


def test_the_domain_refuses_them_too_for_text_that_comes_another_way():
    from domain.base import clean_text

    with pytest.raises(InvalidInput) as refused:
        clean_text("a\x1bb", "summary")
    assert refused.value.field == "summary" and "U+001B" in refused.value.message
    assert clean_text("  a\r\nb  ", "summary") == "a\nb"
