"""Input formats: articles, ticket exports, inquiry sets — and clear errors naming file and line."""
from __future__ import annotations

import io
import json

import pytest

from deflect.errors import InputError
from deflect.formats import (
    Inquiry,
    check_expected_articles,
    find_files,
    parse_ticket,
    read_article,
    read_articles,
    read_inquiries,
    title_text,
)
from deflect.ticket_files import read_tickets


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_article_front_matter_and_defaults(tmp_path):
    p = write(tmp_path / "faq" / "abo-pause.md",
              "---\ntitle: \"Abo pausieren: so geht's\"\nquestions: null\ntags: [abo]\n---\n"
              "Sie können Ihr Abo **pausieren**.\n")
    a = read_article(p)
    assert a.id == "abo-pause"            # id defaults to the file stem
    assert a.title == "Abo pausieren: so geht's"
    assert a.questions == []              # null questions are allowed
    assert a.language == "de"             # detected when not given
    assert a.body.startswith("Sie können")


def test_article_with_all_fields(tmp_path):
    p = write(tmp_path / "x.md", "---\nid: en-pw\ntitle: Reset password\nlanguage: en\nquestions:\n"
              "  - forgot my password\n  - cannot log in\nurl: /help/pw\n---\nClick *Forgot password*.\n")
    a = read_article(p)
    assert (a.id, a.language, a.url) == ("en-pw", "en", "/help/pw")
    assert a.questions == ["forgot my password", "cannot log in"]


@pytest.mark.parametrize("text, line", [
    ("---\ntitle: ok\nquestions:\n  - \"unclosed\n---\nbody\n", 4),     # where the quote opens
    ("---\nid: a\ntitle: Hallo: Welt\nquestions: []\n---\nbody\n", 3),  # the unquoted colon
    ("---\ntitle: [broken\n---\nbody\n", 2),                            # where the bracket opens
    ("\n---\nid: a\ntitle: Hallo: Welt\n---\nbody\n", 4),               # a blank line before the front matter
])
def test_bad_yaml_names_file_and_the_line_to_fix(tmp_path, text, line):
    p = write(tmp_path / "bad.md", text)
    with pytest.raises(InputError) as err:
        read_article(p)
    assert f"bad.md:{line}: invalid YAML front matter" in str(err.value)


def test_an_article_id_comes_from_the_file_name_umlauts_kept(tmp_path):
    assert read_article(write(tmp_path / "kündigung.md", "---\ntitle: Kündigung\n---\nText\n")).id == "kündigung"


def test_locales_as_cms_and_help_desks_export_them_give_the_language(tmp_path):
    article = read_article(write(tmp_path / "a.md", "---\ntitle: Abo\nlanguage: de-DE\n---\nText\n"))
    assert article.language == "de"
    p = tmp_path / "t.csv"
    p.write_text("id,body,language\nT1,Where is my invoice?,en_GB\nT2,Wo ist die Rechnung?,de-AT\n", encoding="utf-8")
    assert [t.language for t in read_tickets(p)] == ["en", "de"]
    with pytest.raises(InputError, match="language 'deutsch' is not an ISO 639-1 code"):
        read_article(write(tmp_path / "b.md", "---\ntitle: Abo\nlanguage: deutsch\n---\nText\n"))


def test_an_article_saved_with_a_byte_order_mark_is_read(tmp_path):
    path = tmp_path / "abo.md"
    path.write_bytes("---\ntitle: Abo pausieren\n---\nSo geht es.\r\n".encode("utf-8-sig"))
    article = read_article(path)
    assert article.title == "Abo pausieren" and article.body.strip() == "So geht es."


def test_missing_title_is_an_error(tmp_path):
    p = write(tmp_path / "notitle.md", "---\nid: x\n---\nbody\n")
    with pytest.raises(InputError, match=r"notitle\.md:1: missing 'title'"):
        read_article(p)


def test_bad_language_is_an_error(tmp_path):
    p = write(tmp_path / "l.md", "---\ntitle: T\nlanguage: German\n---\nbody\n")
    with pytest.raises(InputError, match="ISO 639-1"):
        read_article(p)


def test_duplicate_article_ids_name_both_files(tmp_path):
    a = write(tmp_path / "a" / "one.md", "---\nid: same\ntitle: A\n---\nx\n")
    b = write(tmp_path / "b" / "two.md", "---\nid: same\ntitle: B\n---\ny\n")
    with pytest.raises(InputError) as err:
        read_articles([a, b])
    assert "duplicate article id 'same'" in str(err.value)
    assert "one.md" in str(err.value) and "two.md" in str(err.value)


def test_find_files_splits_by_extension(tmp_path):
    write(tmp_path / "faq" / "a.md", "---\ntitle: A\n---\nx\n")
    write(tmp_path / "faq" / "README.md", "not an article")
    write(tmp_path / "faq" / "t" / "tickets.jsonl", "")
    write(tmp_path / "faq" / "t" / "more.csv", "id\n")
    articles, tickets = find_files([tmp_path / "faq"])
    assert [p.name for p in articles] == ["a.md"]
    assert sorted(p.name for p in tickets) == ["more.csv", "tickets.jsonl"]
    with pytest.raises(InputError, match="no such file"):
        find_files([tmp_path / "missing"])


def ticket(**kw):
    row = {"id": "T1", "subject": "Zeitung fehlt", "body": "Heute keine Zeitung", "resolution": "Gutschrift",
           "article_id": None, "language": "de"}
    row.update(kw)
    return json.dumps(row, ensure_ascii=False)


def test_tickets_jsonl(tmp_path):
    p = write(tmp_path / "t.jsonl", ticket() + "\n\n" + ticket(id="T2", article_id="a1", channel="email") + "\n")
    tickets = read_tickets(p, {"a1"})
    assert [t.id for t in tickets] == ["T1", "T2"]
    assert tickets[1].article_id == "a1" and tickets[1].channel == "email"
    assert tickets[0].text == "Zeitung fehlt\nHeute keine Zeitung"


def test_ticket_line_that_is_not_json(tmp_path):
    p = write(tmp_path / "t.jsonl", ticket() + "\n{broken\n")
    with pytest.raises(InputError, match=r"t\.jsonl:2: not valid JSON"):
        read_tickets(p)


def test_ticket_with_unknown_article(tmp_path):
    p = write(tmp_path / "t.jsonl", ticket() + "\n" + ticket(id="T2", article_id="nope") + "\n")
    with pytest.raises(InputError, match=r"t\.jsonl:2: .*unknown article_id 'nope'") as err:
        read_tickets(p, {"a1"})
    assert err.value.hint


def test_duplicate_ticket_ids(tmp_path):
    p = write(tmp_path / "t.jsonl", ticket() + "\n" + ticket() + "\n")
    with pytest.raises(InputError, match="duplicate ticket id 'T1'"):
        read_tickets(p)


def test_every_bad_row_of_an_export_is_named_at_once(tmp_path):
    # a team fixing a large export needs every faulty row in one run, not one row per attempt
    rows = [ticket(id=f"T{n}") for n in range(1, 31)]
    for n in (4, 9, 17, 20, 21, 22, 23, 24, 25, 26, 27, 28):
        rows[n - 1] = ticket(id=f"T{n}", article_id="nope")
    rows[6] = "{broken"
    rows[11] = ticket(id="T1")
    p = write(tmp_path / "t.jsonl", "\n".join(rows) + "\n")
    with pytest.raises(InputError) as err:
        read_tickets(p, {"a1"})
    message = str(err.value)
    assert message.startswith(f"{p}:4: ticket 'T4' links unknown article_id 'nope'\n"
                              "13 more row(s) cannot be read:")
    assert "\n  line 7: not valid JSON" in message and "\n  line 12: duplicate ticket id 'T1'" in message
    assert "\n  line 9: ticket 'T9' links unknown" in message and "\n  and 4 more" in message
    assert err.value.line == 4 and err.value.hint == "Ingest the article first, or set article_id to null."

    p = write(tmp_path / "t.csv", "id;subject;body\n1;Abo;kündigen\n2;Zeitung;fehlt;seit Montag\n3;nur\n"
                                  ";;Rechnung\n5;Rechnung;fehlt\n")
    with pytest.raises(InputError) as err:
        read_tickets(p)
    assert str(err.value).splitlines() == [f"{p}:3: 1 more value(s) than the header has columns",
                                           "2 more row(s) cannot be read:",
                                           "  line 4: 1 value(s) fewer than the header has columns",
                                           "  line 5: ticket without 'id'"]


def test_tickets_csv_same_columns(tmp_path):
    p = write(tmp_path / "t.csv", "id,subject,body,resolution,article_id,language,channel\n"
              "T1,Rechnung,\"Wo ist meine Rechnung, bitte?\",Im Konto,,de,email\n"
              "T2,Invoice,Where is my invoice?,In your account,a1,en,\n")
    tickets = read_tickets(p, {"a1"})
    assert tickets[0].article_id is None and tickets[0].body == "Wo ist meine Rechnung, bitte?"
    assert tickets[1].article_id == "a1" and tickets[1].channel is None


@pytest.mark.parametrize("separator", [";", "\t"])
def test_tickets_csv_as_excel_saves_it_in_a_german_locale(tmp_path, separator):
    # Excel with German settings separates with ';' (the comma is the decimal point there), with a BOM and CRLF
    rows = [["id", "subject", "body", "resolution"], ["T1", "Rechnung", "Wo ist meine Rechnung, bitte?", "Im Konto"],
            ["T2", "Preis", "Kostet 9,90 € im Monat", "erklärt"]]
    p = tmp_path / "t.csv"
    p.write_bytes("".join(separator.join(r) + "\r\n" for r in rows).encode("utf-8-sig"))
    tickets = read_tickets(p)
    assert [(t.id, t.body) for t in tickets] == [("T1", "Wo ist meine Rechnung, bitte?"),
                                                 ("T2", "Kostet 9,90 € im Monat")]
    p.write_text("id;subject;body\n1;Abo;kündigen\n2;Zeitung;fehlt;seit Montag\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"t.csv:3: 1 more value") as err:
        read_tickets(p)
    assert err.value.hint == "Quote values that contain the separator ';'."


def test_ticket_times_in_iso_or_as_german_exports_write_them(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("id;body;created_at\nT1;a;2025-12-30T08:00:00Z\nT2;b;2025-12-30 08:00:00\nT3;c;31.12.2025 14:05\n"
                 "T4;d;1.2.2026\nT5;e;\nT6;f;2025-12-30 09:00:00 +0100\n", encoding="utf-8")
    # stored as every time in deflect: UTC, one form, so that they compare and sort as text
    assert [t.created_at for t in read_tickets(p)] == [
        "2025-12-30T08:00:00+00:00", "2025-12-30T08:00:00+00:00", "2025-12-31T14:05:00+00:00",
        "2026-02-01T00:00:00+00:00", None, "2025-12-30T08:00:00+00:00"]
    for bad in ("12/30/2025 08:00", "gestern", "31.02.2026"):
        p.write_text(f"id;body;created_at\nT1;a;2025-12-30\nT2;b;{bad}\n", encoding="utf-8")
        with pytest.raises(InputError, match=r"t.csv:3: created_at .*: not a date and time in a form deflect reads"):
            read_tickets(p)


def test_inquiries_and_labels():
    stream = io.StringIO('{"id": "q1", "text": "Wo ist meine Zeitung?", "expected_article": "a"}\n'
                         '{"id": "q2", "text": "How to pay?", "language": "en", "expected_article": null}\n')
    rows = read_inquiries(stream, require_labels=True)
    assert [(r.id, r.expected_article) for r in rows] == [("q1", "a"), ("q2", None)]
    with pytest.raises(InputError, match="needs 'expected_article'"):
        read_inquiries(io.StringIO('{"id": "q1", "text": "hallo"}\n'), require_labels=True)
    with pytest.raises(InputError, match="<stdin>:1: inquiry without 'text'"):
        read_inquiries(io.StringIO('{"id": "q1"}\n'))


@pytest.mark.parametrize("second,error", [
    ('{"id": "q2", "text": "Rechnung?", "expected_article": ""}', "<stdin>:2: 'expected_article' is blank"),
    ('{"id": "q1", "text": "Rechnung?", "expected_article": "b"}', "<stdin>:2: duplicate id 'q1' (first on line 1)"),
    ('{"id": "q2", "text": "wo ist  meine zeitung?", "expected_article": null}',
     "<stdin>:2: the same question is labelled 'a' on line 1 and None here"),
    ('{"id": "q2", "text": "Rechnung?", "expected_article": ["b"]}', "<stdin>:2: 'expected_article' must be text"),
])
def test_a_labelled_file_says_each_label_once_and_in_full(second, error):
    # a row not reviewed yet, an id used twice, two labels for one question: each would teach wrong
    first = '{"id": "q1", "text": "Wo ist meine Zeitung?", "expected_article": "a"}\n'
    with pytest.raises(InputError) as err:
        read_inquiries(io.StringIO(first + second + "\n"), require_labels=True)
    assert str(err.value).startswith(error)


# -- ingest refuses what it cannot store faithfully ------------------------------------------------
def test_ticket_fields_must_be_text(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text('{"id": 12345, "subject": ["x"], "body": {"a": 1}}\n')
    with pytest.raises(InputError, match=r"t.jsonl:1: 'subject' must be text, not list"):
        read_tickets(path)
    path.write_text('{"id": 12345, "subject": "Abo", "body": "kündigen", "status": 3}\n')
    ticket = read_tickets(path)[0]
    assert (ticket.id, ticket.status) == ("12345", "3")


def test_csv_with_an_unclosed_quote_is_refused(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text('id,subject,body\n1,"Abo,kündigen\n2,Zeitung,fehlt\n3,E-Paper,Login\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"t.csv:2: broken CSV") as info:
        read_tickets(path)
    assert "quote" in info.value.hint


def test_csv_needs_a_body_column(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("id,subject\n1,Abo kündigen\n", encoding="utf-8")
    with pytest.raises(InputError, match="no 'body' column"):
        read_tickets(path)


def test_csv_row_broken_by_a_line_break_is_refused_not_split_into_two_tickets(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("id;subject;body;created_at\n5;Zeitung;Hallo,\nmeine Zeitung fehlt seit Montag.;03.11.2025 10:00\n"
                    ";;;\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"t.csv:2: 1 value\(s\) fewer than the header has columns") as err:
        read_tickets(path)
    assert "line break" in err.value.hint
    path.write_text('id;subject;body\n5;Zeitung;"Hallo,\nfehlt"\n;;\n', encoding="utf-8")   # quoted; Excel's ;;
    assert [(t.id, t.body) for t in read_tickets(path)] == [("5", "Hallo,\nfehlt")]
    path.write_text("id;body;body\n5;a;b\n", encoding="utf-8")
    with pytest.raises(InputError, match="names the column 'body' twice"):
        read_tickets(path)


def test_csv_row_with_more_values_than_columns(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("id,subject,body\n1,Abo,kündigen\n2,Zeitung,fehlt, seit Montag\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"t.csv:3: 1 more value"):
        read_tickets(path)


def test_multi_line_csv_values_keep_their_line_numbers(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text('id,subject,body\n1,Abo,"Zeile eins\nZeile zwei"\n2,Zeitung,fehlt\n', encoding="utf-8")
    tickets = read_tickets(path)
    assert [(t.id, t.line) for t in tickets] == [("1", 2), ("2", 4)]
    assert tickets[0].body == "Zeile eins\nZeile zwei"


@pytest.mark.parametrize("name", ["t.csv", "t.jsonl"])
def test_latin1_export_is_refused_with_a_hint(tmp_path, name):
    path = tmp_path / name
    line = "1,Kündigung,Bitte kündigen\n" if name.endswith(".csv") else '{"id": "1", "body": "Kündigung"}\n'
    header = "id,subject,body\n" if name.endswith(".csv") else ""
    path.write_bytes((header + line).encode("latin-1"))
    with pytest.raises(InputError, match=rf"{name}:\d: not UTF-8") as info:
        read_tickets(path)
    assert "UTF-8" in info.value.hint


def test_customer_fields_are_kept_out_of_the_row(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text(json.dumps({"id": "1", "body": "Hallo", "customer_name": "Hans Meier",
                                "customer_email": "hans@example.org"}) + "\n")
    ticket = read_tickets(path)[0]
    assert ticket.customer == ("Hans Meier", "hans@example.org")
    assert "customer" not in ticket.to_row()


@pytest.mark.parametrize("url", ["/\\evil.example/phish", "//evil.example/phish", "javascript:alert(1)",
                                 "/hilfe/ abo", "hilfe/abo"])
def test_article_url_that_leaves_the_site_is_refused(tmp_path, url):
    path = tmp_path / "a.md"
    path.write_text(f'---\ntitle: Abo\nurl: "{url}"\n---\nText\n'.replace("\\", "\\\\"), encoding="utf-8")
    with pytest.raises(InputError, match="'url' must be a path"):
        read_article(path)


def test_inquiry_files_name_the_line_of_bad_bytes_and_accept_a_bom(tmp_path):
    latin = tmp_path / "latin.jsonl"
    latin.write_bytes('{"id": "a", "text": "ok"}\n{"id": "b", "text": "Kündigung"}\n'.encode("latin-1"))
    with pytest.raises(InputError, match=r"latin\.jsonl:2: not UTF-8 text"):
        read_inquiries(latin)
    bom = tmp_path / "bom.jsonl"
    bom.write_bytes('{"id": "a", "text": "Kündigung", "expected_article": null}\n'.encode("utf-8-sig"))
    assert [q.text for q in read_inquiries(bom, require_labels=True)] == ["Kündigung"]


def test_inquiries_on_stdin_with_bad_bytes_are_refused_with_their_line():
    # stdin decodes undecodable bytes to lone surrogates (surrogateescape) instead of failing
    stream = io.StringIO('{"id": "a", "text": "ok"}\n' + b'{"id": "b", "text": "K\xfcndigung"}\n'.decode(
        "utf-8", "surrogateescape"))
    with pytest.raises(InputError, match=r"<stdin>:2: not UTF-8 text"):
        read_inquiries(stream)


def test_expected_articles_must_exist():
    inquiries = [Inquiry("q1", "x", expected_article="abo-kuendigen"), Inquiry("q2", "y", expected_article=None),
                 Inquiry("q3", "z", expected_article="abo-kundigen")]
    check_expected_articles(inquiries[:2], {"abo-kuendigen"}, "f.jsonl")
    with pytest.raises(InputError, match=r"f\.jsonl: 1 labelled inquiry expects an article the help center does not "
                                         r"have: q3 -> 'abo-kundigen' \(did you mean 'abo-kuendigen'\?\)"):
        check_expected_articles(inquiries, {"abo-kuendigen"}, "f.jsonl")


def test_an_html_export_body_is_read_as_text_so_its_personal_data_is_found():
    from deflect.privacy import default_redactor

    ticket = parse_ticket({"id": "Z-1", "subject": "R&uuml;ckruf",
                           "resolution": "<p>Erledigt.</p><blockquote>alt</blockquote>",
                           "body": "<p>Kundennummer:&nbsp;4711081, bitte zur&uuml;ck:&nbsp;0171&nbsp;2345678</p>"
                                   "<div data-signature='true'>Max Muster<br>Hauptstra&szlig;e 5</div>"})
    assert ticket.subject == "Rückruf" and ticket.resolution == "Erledigt."
    assert ticket.body == "Kundennummer: 4711081, bitte zurück: 0171 2345678"      # no markup, no signature
    assert default_redactor().redact(ticket.body) == "Kundennummer: [CUSTOMER-ID], bitte zurück: [PHONE]"
    plain = parse_ticket({"id": "T-2", "body": "Preis < 10 € & Lieferung > 2 Tage"})
    assert plain.body == "Preis < 10 € & Lieferung > 2 Tage"                         # plain text stays as it is


def test_article_ids_from_file_names_are_one_spelling_and_linkable(tmp_path):
    import unicodedata

    decomposed = unicodedata.normalize("NFD", "kündigung")      # as macOS and zip files name it
    (tmp_path / f"{decomposed}.md").write_text("---\ntitle: Kündigung\n---\nSo geht es.\n", encoding="utf-8")
    article = read_article(tmp_path / f"{decomposed}.md")
    assert article.id == "kündigung"
    assert parse_ticket({"id": "T1", "body": "x", "article_id": decomposed}, known_articles={article.id}).article_id \
        == "kündigung"
    for bad in ("abo/pause", '".."', "kuendigung-<img src=x>"):   # its page could not be linked
        (tmp_path / "bad.md").write_text(f"---\nid: {bad}\ntitle: Pause\n---\nText\n", encoding="utf-8")
        with pytest.raises(InputError, match="slash, a control character"):
            read_article(tmp_path / "bad.md")


def test_html_a_cms_left_in_an_article_is_taken_out_its_text_and_links_kept(tmp_path):
    path = tmp_path / "rechnung.md"
    path.write_text('---\ntitle: Rechnung <b>kopieren</b>\n---\nIm <b>Kundenkonto</b> unter <a href="/konto">Rechnungen'
                    '</a>.<script>alert(1)</script><br>Geben Sie <Ihre Kundennummer> ein.\n', encoding="utf-8")
    article = read_article(path)
    assert article.title == "Rechnung kopieren"
    assert article.body == "Im Kundenkonto unter [Rechnungen](/konto).  \nGeben Sie <Ihre Kundennummer> ein."


def test_a_zendesk_export_names_the_body_description(tmp_path):
    jsonl = tmp_path / "zendesk.jsonl"
    jsonl.write_text(json.dumps({"id": 4711, "subject": "Abo", "description": "Wie kündige ich mein Abo?"}) + "\n",
                     encoding="utf-8")
    assert [t.body for t in read_tickets(jsonl)] == ["Wie kündige ich mein Abo?"]
    csv_file = tmp_path / "zendesk.csv"
    csv_file.write_text("id;subject;description\n4712;Rechnung;Wo ist meine Rechnung?\n", encoding="utf-8")
    assert [t.body for t in read_tickets(csv_file)] == ["Wo ist meine Rechnung?"]
    both = tmp_path / "both.jsonl"
    both.write_text(json.dumps({"id": 1, "body": "Text", "description": "Notiz"}) + "\n", encoding="utf-8")
    unread: set[str] = set()
    assert [t.body for t in read_tickets(both, unread=unread)] == ["Text"] and unread == {"description"}


def test_what_a_reader_cannot_see_is_not_stored(tmp_path):
    """A CMS export's soft hyphens and entities, zero-width spaces, a terminal's escape codes: an article
    keeps what a reader sees; a ticket file too."""
    article = read_article(write(tmp_path / "a.md", "---\ntitle: \"Ab&shy;stell&shy;genehmigung &amp; Ablageort "
                                 "f&uuml;r die Zeitung\"\nquestions:\n  - \"Lotto\u200bzahlen\"\n---\n"
                                 "Die Ab\u00adstell\u00adgenehmigung \x1b]0;PWNED\x07erteilen Sie online.\n"))
    assert article.title == "Abstellgenehmigung & Ablageort für die Zeitung"
    assert title_text("Sport&regionales & Hilfe&notruf") == "Sport&regionales & Hilfe&notruf"   # no "®", no "¬"
    assert article.questions == ["Lottozahlen"]
    assert article.body == "Die Abstellgenehmigung ]0;PWNEDerteilen Sie online."
    p = tmp_path / "t.csv"
    p.write_text("id,subject,body\nT1,\x1b[41mKein Horoskop,Seit Montag\u200b kein Horo\u00adskop\x00\n",
                 encoding="utf-8")
    ticket = next(iter(read_tickets(p)))
    assert (ticket.subject, ticket.body) == ("[41mKein Horoskop", "Seit Montag kein Horoskop")


def test_a_question_with_soft_hyphens_or_zero_width_spaces_is_the_question_without_them(demo_deflector):
    plain = demo_deflector.suggest("Passwort vergessen E-Paper")
    pasted = demo_deflector.suggest("Pass\u00adwort ver\u00adges\u00adsen E-\u200bPaper")
    assert (pasted.decision, pasted.articles[0].id, round(pasted.confidence, 6)) == (
        plain.decision, plain.articles[0].id, round(plain.confidence, 6))
