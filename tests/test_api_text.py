"""Snippets, Markdown to plain text, and agent drafts."""
from __future__ import annotations

from deflect.web.text import query_stems, snippet

from deflect.draft import article_excerpt, build_draft
from deflect.formats import Article
from deflect.text import markdown_blocks


def test_markdown_blocks_keep_words_apart():
    md = ("Hallo\nWelt **fett** [Link](http://x) `code`\n\n# Titel\n\n1. eins\n2. zwei\n\n- a\n- b\n\n"
          "| A | B |\n|---|---|\n| 1 | 2 |\n\n```\nx = 1\n```\n<script>alert(1)</script>")
    blocks = markdown_blocks(md)
    assert blocks[:7] == ["Hallo Welt fett Link code", "Titel", "1. eins", "2. zwei", "- a", "- b", "A | B"]
    assert "1 | 2" in blocks and "x = 1" in blocks
    assert any("<script>" in b for b in blocks)  # raw HTML stays text (escaped later)


def test_query_stems():
    assert query_stems("Wie kann ich mein Abo kündigen?") == ["abo", "kündi"]
    assert query_stems("How do I cancel my subscription?") == ["cance", "subscript"]
    assert query_stems("ab ?? 12345") == []


def test_snippet_marks_inflected_words_and_escapes():
    text = "Sie können die Kündigung online senden. <b>Fristen</b> & Regeln gelten."
    html = snippet(text, "kündigen Fristen")
    assert "<mark>Kündigung</mark>" in html and "<mark>Fristen</mark>" in html
    assert "&lt;b&gt;" in html and "&amp;" in html and "<b>" not in html


def test_snippet_window_holds_the_most_query_words():
    text = ("Einleitung ohne Treffer. " * 20 + "Das Passwort setzen Sie im Kundenkonto zurück. " +
            "Weitere Hinweise folgen. " * 20)
    html = snippet(text, "Passwort Kundenkonto zurücksetzen")
    plain = html.replace("<mark>", "").replace("</mark>", "")
    assert html.startswith("…") and html.endswith("…")
    assert "<mark>Passwort</mark>" in html and "<mark>Kundenkonto</mark>" in html
    assert len(plain) <= 202


def test_snippet_without_matches_starts_at_the_beginning():
    assert snippet("Kurzer Text.", "xyz") == "Kurzer Text."
    assert snippet("", "Abo") == ""
    long = "Wort " * 100
    assert snippet(long, "nichts").endswith("…") and not snippet(long, "nichts").startswith("…")


def test_article_excerpt_does_not_end_on_an_introduction_nor_inside_a_list():
    body = ("Sie können online kündigen.\n\n**So geht es:**\n\n1. Anmelden\n2. Kündigen\n   - im Konto\n"
            "   - per Button\n3. Bestätigen\n\n| Weg | Dauer |\n|---|---|\n| online | sofort |\n\n"
            + "Weitere Informationen folgen in einem sehr langen Absatz. " * 10)
    excerpt = article_excerpt(body, max_chars=40)
    assert excerpt.startswith("Sie können online kündigen.") and not excerpt.endswith(":")
    assert article_excerpt(body, max_chars=60) == ("Sie können online kündigen.\n\nSo geht es:\n\n1. Anmelden\n"
                                                   "2. Kündigen\n   - im Konto\n   - per Button\n3. Bestätigen")
    assert article_excerpt(body, max_chars=160).endswith("3. Bestätigen\n\nWeg | Dauer\nonline | sofort")


def test_build_draft_parts_cite_sources():
    article = Article(id="a", title="Abo kündigen", body="Kündigen Sie online.", language="de",
                      url="/hilfe/a")
    draft = build_draft("de", article=article, base_url="https://help.example.com")
    assert [p["source"]["type"] for p in draft["parts"]] == ["template", "article", "template"]
    assert draft["parts"][1]["source"]["url"] == "https://help.example.com/hilfe/a"
    assert "https://help.example.com/hilfe/a" in draft["parts"][1]["text"]
    ticket = {"id": "T-9", "subject": "Mail an a@b.de",
              "resolution": "Erstattet an DE89 3704 0044 0532 0130 00"}
    draft = build_draft("en", ticket=ticket, signature="Rheinblick team")
    assert draft["parts"][1] == {"text": "Erstattet an [IBAN]",
                                 "source": {"type": "ticket", "id": "T-9", "title": "Mail an [E-MAIL]"}}
    assert draft["text"].startswith("Hello,") and draft["text"].endswith("Rheinblick team")
    assert build_draft("fr")["text"].startswith("Hello,")  # unknown languages fall back to English


def test_the_paragraph_after_the_greeting_is_written_as_a_letter_goes_on():
    # German: lower case after "Guten Tag," unless a noun or the polite "Sie"; English: a capital
    sorry = Article(id="a", title="Zeitung fehlt", body="Das tut uns leid! Wir liefern nach.", language="de")
    assert build_draft("de", article=sorry)["text"].startswith("Guten Tag,\n\ndas tut uns leid!")
    polite = Article(id="b", title="Abo kündigen", body="Sie können online kündigen.", language="de")
    assert build_draft("de", article=polite)["text"].startswith("Guten Tag,\n\nSie können")
    ticket = {"id": "T-8", "subject": "Refund", "resolution": "we refunded the last issue."}
    assert build_draft("en", ticket=ticket)["text"].startswith("Hello,\n\nWe refunded")
    assert build_draft("en")["text"].startswith("Hello,\n\nThank you for your message.")
    assert build_draft("de")["text"].startswith("Guten Tag,\n\nvielen Dank")
    for first in ("iOS users can", "https://example.com/help", "www.example.com has"):   # left as written
        assert build_draft("en", ticket={"id": "T", "subject": "x", "resolution": first})["parts"][1]["text"] == first
    for first, expected in (("we've sent you a new code.", "We've"), ("i've reset it.", "I've"),
                            ("e-mail us again.", "E-mail")):
        text = build_draft("en", ticket={"id": "T", "subject": "x", "resolution": first})["parts"][1]["text"]
        assert text.startswith(expected), text
    # text in the other language than the greeting stays as written: an English article to a German
    # customer keeps its capital, a German one to an English customer too
    english = Article(id="c", title="App", body="In the App Store, search for us.", language="en")
    assert build_draft("de", article=english)["parts"][1]["text"].startswith("In the App Store")
    german = Article(id="d", title="Passwort", body="Das Passwort setzen Sie im Konto zurück.", language="de")
    assert build_draft("en", article=german)["parts"][1]["text"].startswith("Das Passwort")


def test_a_draft_from_a_ticket_quotes_the_agents_answer_without_its_greeting_and_sign_off():
    ticket = {"id": "T-7", "subject": "Zeitung fehlt",
              "resolution": "Guten Tag Herr Müller,\n\nwir haben die Zeitung nachgeliefert.\n\n"
                            "Viele Grüße\nAnna Schmidt"}
    draft = build_draft("de", ticket=ticket)
    assert draft["parts"][1]["text"] == "wir haben die Zeitung nachgeliefert."
    assert draft["text"].count("Guten Tag") == 1 and "Anna" not in draft["text"]


def test_an_email_reply_loses_its_signature_block_and_the_message_it_quotes():
    from deflect.html_text import html_to_text
    reply = ('<div>wir haben die Zeitung nachgeliefert.</div><div data-signature="true">Mit freundlichen Grüßen<br>'
             'Anna Schmidt<br><div>Tel. 0221 555 1234</div></div><blockquote type="cite"><div>Am 02.11.2026 um 08:55 '
             'schrieb Jürgen Müller:</div><div>Meine Zeitung kam nicht. Abo-Nr. 4711-0815</div></blockquote>')
    assert html_to_text(reply, reply=True) == "wir haben die Zeitung nachgeliefert."
    plain = "Danke, erledigt.\n\nAm 02.11.2026 um 08:55 schrieb Jürgen Müller <j@example.de>:\n> Zeitung fehlt"
    assert html_to_text(f"<pre>{plain}</pre>", reply=True) == "Danke, erledigt."
    # a knowledge-base answer keeps its quotes; table cells stay apart
    assert "Tipp" in html_to_text("<p>So geht es.</p><blockquote>Tipp: vorher speichern</blockquote>")
    table = "<table><tr><td>Digital-Abo</td><td>9,90 €</td></tr><tr><td>Print-Abo</td><td>34,90 €</td></tr></table>"
    assert html_to_text(table) == "Digital-Abo 9,90 €\n\nPrint-Abo 34,90 €"


def test_a_draft_whose_article_is_in_another_language_says_so():
    article = Article(id="a", title="E-Paper als PDF", body="Laden Sie die Ausgabe als PDF herunter.",
                      language="de", url="/hilfe/pdf")
    draft = build_draft("en", article=article)
    assert draft["text"].startswith("Hello,") and "translate" in draft["check"] and "German" in draft["check"]
    assert "check" not in build_draft("de", article=article)


def test_a_customer_writing_in_a_third_language_gets_an_english_draft_marked_for_translation():
    from deflect.draft import language_check

    article = Article(id="a", title="E-Paper als PDF", body="Laden Sie die Ausgabe als PDF herunter.",
                      language="de", url="/hilfe/pdf")
    for draft in (build_draft("tr", article=article), build_draft("tr")):
        assert draft["text"].startswith("Hello,") and draft["check"] == \
            "The customer wrote in Turkish: translate this draft before sending."
    assert language_check(None, "es", "de") == \
        "Der Kunde schrieb auf Spanisch: Übersetzen Sie diesen Entwurf vor dem Senden."


def test_text_typed_in_capitals_is_read_capitalised():
    from deflect.text import unshouted

    assert unshouted("RECHNUNG HERUNTERLADEN!!") == "Rechnung Herunterladen!!"
    assert unshouted("ÄRGER MIT DER ZUSTELLUNG, FEHLER E-402") == "Ärger Mit Der Zustellung, Fehler E-402"
    assert unshouted("UMZUG") == "Umzug"
    for text in ("PDF", "IBAN ändern", "Mein PDF geht nicht", "DRINGEND: Zeitung fehlt", "", "zeitung"):
        assert unshouted(text) == text
