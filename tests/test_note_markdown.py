"""The Markdown note (Chatwoot): customers' and agents' words in it are text, never links or images."""
from __future__ import annotations

from types import SimpleNamespace

from deflect.connectors.note import NoteOptions, compose_note, md_escape
from deflect.engine import ArticleHit, Suggestion, TicketHit


class _Engine:
    """Suggests one article and one similar ticket whose subject and reply carry Markdown."""

    store = SimpleNamespace(get_article=lambda aid: None)

    def suggest(self, text, k=3, with_tickets=3, language=None):
        return Suggestion("suggest", 0.4, [ArticleHit("gutschein", "Gutschein [einlösen]", 0.7, "/help/gutschein")],
                          "de", tickets=[TicketHit(
                              "MD-1", 0.9, "Gutschein [jetzt im Agentenportal bestätigen](https://evil.example/login)",
                              "body", "**Dringend:** [Konto prüfen](https://evil.example/phish) ![](https://t.example/p.gif)",
                              None, "de")])


def test_ticket_texts_in_a_markdown_note_are_shown_as_written():
    note = compose_note(_Engine(), "Gutschein", "Mein Gutschein geht nicht", NoteOptions(
        help_center_url="https://hilfe.example.de", ticket_min_score=0.5), log_channel=None)
    md = note.markdown
    assert "](https://evil.example" not in md and "![](" not in md   # no link, no image from a ticket's words
    assert r"\[jetzt im Agentenportal bestätigen\]\(https://evil.example/login\)" in md
    assert "[Gutschein \\[einlösen\\]](https://hilfe.example.de/help/gutschein)" in md   # the article's link stays
    assert "evil.example/login" in note.html and "<a href=\"https://evil" not in note.html


def test_md_escape_keeps_the_words_and_defuses_line_starts():
    assert md_escape("E-Paper *neu*") == r"E-Paper \*neu\*"
    assert md_escape("# Kopf\n- Punkt\n12. Zeile") == "\\# Kopf\n\\- Punkt\n12\\. Zeile"


class _PolishEngine(_Engine):
    """The same suggestion for a customer who wrote in Polish."""

    def suggest(self, text, k=3, with_tickets=3, language=None):
        s = super().suggest(text, k, with_tickets, language)
        s.language = "pl"
        return s


def test_a_note_for_a_customer_writing_polish_asks_the_agent_to_translate_the_english_draft():
    note = compose_note(_PolishEngine(), "Gazeta", "Dzień dobry, gazeta nie przyszła", NoteOptions(
        ticket_min_score=0.5), log_channel=None)
    check = "The customer wrote in Polish: translate this draft before sending."
    assert check in note.markdown and check in note.html
    assert "Hello," in note.markdown
