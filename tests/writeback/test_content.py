"""Activity subjects and descriptions: cut to Dynamics' limits with a marker, never refused."""

from inbox.models import Message, Note, Thread
from tests.factories import CompanyFactory, MemberFactory
from writeback.content import (
    DESCRIPTION_MAX,
    SUBJECT_MAX,
    TRUNCATED,
    first_line,
    message_content,
    note_content,
    trim,
)


def test_trim_leaves_text_that_fits_alone():
    assert trim("Hello", 5) == "Hello"
    assert trim("", 5) == ""


def test_trim_cuts_to_the_limit_and_ends_with_the_marker():
    text = "x" * 250
    trimmed = trim(text, 200)
    assert len(trimmed) == 200
    assert trimmed.endswith(TRUNCATED)
    assert trimmed.startswith("x" * (200 - len(TRUNCATED)))


def test_trim_never_exceeds_a_limit_shorter_than_the_marker():
    assert trim("abcdefghij", 3, marker="[cut]") == "[cu"


def test_first_line_skips_blank_lines_and_collapses_spaces():
    assert first_line("\n\n   Hello    there  \nsecond") == "Hello there"
    assert first_line("   \n ") == ""


def _member():
    return MemberFactory.build(first_name="Jane", last_name="Doe", company=CompanyFactory.build())


def test_a_sent_inmail_says_to_whom_with_its_subject():
    thread = Thread(member=_member(), kind=Thread.Kind.INMAIL, subject="Pipeline reviews")
    message = Message(thread=thread, direction=Message.Direction.SENT, body="Hi Jane")
    content = message_content(message)
    assert content.subject == "LinkedIn InMail to Jane Doe: Pipeline reviews"
    assert content.description == "Hi Jane"


def test_a_received_message_says_from_whom_with_its_first_line():
    thread = Thread(member=_member(), kind=Thread.Kind.MESSAGE)
    message = Message(thread=thread, direction=Message.Direction.RECEIVED, body="Sure!\nThanks")
    assert message_content(message).subject == "LinkedIn Message from Jane Doe: Sure!"


def test_long_content_is_trimmed_to_both_column_limits():
    thread = Thread(member=_member(), kind=Thread.Kind.MESSAGE)
    body = "word " * 1000
    content = message_content(Message(thread=thread, direction="sent", body=body))
    assert len(content.subject) == SUBJECT_MAX and content.subject.endswith(TRUNCATED)
    assert len(content.description) == DESCRIPTION_MAX
    assert content.description.endswith(TRUNCATED)


def test_a_note_names_what_it_is_on():
    company = CompanyFactory.build(name="Northwind")
    content = note_content(Note(company=company, body="Renewal in Q3.\nThree teams."))
    assert content.subject == "LinkedIn note on Northwind: Renewal in Q3."
    assert content.description == "Renewal in Q3.\nThree teams."
