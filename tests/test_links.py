"""Inferred article links for tickets no agent linked: from the resolution (link, id, title, pasted answer
text; German and English) and from the neighbourhood; stored apart, used as evidence, shown as inferred."""
from __future__ import annotations

import json

import pytest
from api_support import bearer, make_app, new_key
from click.testing import CliRunner
from fakes import FakeEmbedder

from deflect.formats import Article, Ticket
from deflect.home import Home
from deflect.index import build as indexer
from deflect.index.bundle import IndexBundle
from deflect.index.links import infer_from_resolutions
from deflect.index.resolution_links import ResolutionMatcher
from deflect.store import open_store
from deflect.store.links import EVIDENCE_CONFIDENCE, inferred_links, link_counts, replace_links

UMZUG_BODY = ("Wenn Sie umziehen, ändern Sie Ihre Lieferadresse im Kundenkonto unter Meine Daten. Die Zeitung "
              "kommt ab dem übernächsten Erscheinungstag an die neue Adresse. Für einen Umzug ins Ausland "
              "schreiben Sie uns bitte vorher.")
PASSWORD_BODY = ("Open the login page and choose Forgot password. We send a link to your e-mail address that is "
                 "valid for one hour; only the most recent link works. Choose a new password of at least ten "
                 "characters.")
ARTICLES = [
    Article(id="umzug-lieferadresse", title="Umzug: Lieferadresse ändern", body=UMZUG_BODY, language="de",
            url="/hilfe/abo/umzug"),
    Article(id="en-password-reset", title="Reset your password", body=PASSWORD_BODY, language="en"),
    Article(id="KB-1042", title="Rechnung als PDF herunterladen", body="Im Kundenkonto unter Rechnungen.",
            language="de"),
    Article(id="360012", title="Pause your subscription", body="Pause it for up to six weeks.", language="en"),
    Article(id="epaper-app", title="E-Paper App", body="Die App gibt es für iOS und Android.", language="de"),
    Article(id="epaper-app-crash", title="E-Paper App stürzt ab", body="Bitte neu installieren.", language="de"),
]


@pytest.fixture(scope="module")
def matcher() -> ResolutionMatcher:
    return ResolutionMatcher(ARTICLES)


@pytest.mark.parametrize("resolution, article_id", [
    ("Kundin den Link https://www.rheinblick.de/hilfe/abo/umzug geschickt.", "umzug-lieferadresse"),
    ("Sent https://help.example.com/hc/en-us/articles/360012-pause-your-subscription, done.", "360012"),
    ("Siehe /articles/epaper-app-crash", "epaper-app-crash"),
    ("Link: https://help.example.com/kb/reset-your-password", "en-password-reset"),
])
def test_a_link_in_the_resolution_names_the_article(matcher, resolution, article_id):
    found = matcher.match(resolution)
    assert found is not None and found.article_id == article_id and found.source == "url"
    assert found.confidence >= EVIDENCE_CONFIDENCE


def test_an_article_id_in_the_resolution(matcher):
    found = matcher.match("Artikel KB-1042 an den Kunden geschickt.")
    assert (found.article_id, found.source) == ("KB-1042", "id")
    # a bare number is an amount or a date, not an id
    assert matcher.match("Refunded 360012 cents.") is None


@pytest.mark.parametrize("resolution, article_id", [
    ("Auf den Artikel „Umzug: Lieferadresse ändern“ verwiesen.", "umzug-lieferadresse"),
    ("Hilfeartikel umzug lieferadresse aendern geschickt", "umzug-lieferadresse"),     # typed without umlauts
    ("Pointed the customer to 'Reset your password'.", "en-password-reset"),
    ("Hat sich erledigt, Artikel E-Paper App stürzt ab gesendet", "epaper-app-crash"),  # not the shorter title
])
def test_the_article_title_in_the_resolution(matcher, resolution, article_id):
    found = matcher.match(resolution)
    assert found is not None and (found.article_id, found.source) == (article_id, "title")
    assert found.confidence >= EVIDENCE_CONFIDENCE


def test_a_title_written_a_little_differently_is_less_certain(matcher):
    found = matcher.match("Explained how the password reset works")
    assert (found.article_id, found.source) == ("en-password-reset", "title")
    assert found.confidence < EVIDENCE_CONFIDENCE


@pytest.mark.parametrize("resolution, article_id", [
    ("Hallo, wenn Sie umziehen, ändern Sie Ihre Lieferadresse im Kundenkonto unter Meine Daten. Die Zeitung "
     "kommt ab dem übernächsten Erscheinungstag an die neue Adresse. Viele Grüße", "umzug-lieferadresse"),
    ("Hi! Open the login page and choose Forgot password. We send a link to your e-mail address that is valid "
     "for one hour. Best regards", "en-password-reset"),
])
def test_pasted_answer_text_names_the_article(matcher, resolution, article_id):
    found = matcher.match(resolution)
    assert found is not None and (found.article_id, found.source) == (article_id, "text")
    assert found.confidence >= EVIDENCE_CONFIDENCE


@pytest.mark.parametrize("resolution", [
    "Answered by an agent.", "", None, "Erledigt, Kunde zufrieden.",
    "The link is valid for one hour, sent a new one.",          # a phrase of an article, not its answer
])
def test_no_article_without_evidence(matcher, resolution):
    assert matcher.match(resolution) is None


# -- in the index build ---------------------------------------------------------------------------
NEAR = ["password login reset forgot account", "password reset login forgot account mail",
        "forgot password login reset account link", "login password forgot reset account new",
        "reset account password forgot login please"]


def _ticket(tid: str, text: str, resolution: str, article_id: str | None = None) -> Ticket:
    return Ticket(id=tid, subject=text, body=text, resolution=resolution, article_id=article_id, language="en")


@pytest.fixture
def linked_home(tmp_path) -> Home:
    """Tickets without links: password tickets, half of them naming the article in the resolution, and a
    cluster of coupon tickets no article covers; indexed with the fake embedder."""
    home = Home(tmp_path / "home").ensure()
    store = open_store(home.db_path)
    store.upsert_articles([Article(id="en-password-reset", title="Reset your password", body=PASSWORD_BODY,
                                   language="en", questions=["forgot password login reset"]),
                           Article(id="delivery", title="Where is my newspaper", body="Delivery times.",
                                   language="en", questions=["newspaper delivery missing today"])])
    tickets = [_ticket(f"p{i}", text, "Sent the article Reset your password." if i % 2 else "Done.")
               for i, text in enumerate(NEAR * 2)]
    tickets += [_ticket(f"c{i}", f"coupon voucher code discount invalid shop {i}", "Done.") for i in range(6)]
    store.upsert_tickets(tickets)
    indexer.build(store, FakeEmbedder(), home.index_dir)
    store.close()
    return home


def test_index_build_infers_links_and_uses_confident_ones_as_evidence(linked_home):
    store = open_store(linked_home.db_path)
    links = inferred_links(store)
    named = {f"p{i}" for i in range(1, 10, 2)}
    assert {t for t, r in links.items() if r["source"] == "title"} == named
    assert all(links[t]["article_id"] == "en-password-reset" for t in named)
    # the unnamed password tickets sit among them: inferred from the neighbourhood, with a confidence
    by_neighbours = {t: r for t, r in links.items() if r["source"] == "neighbours"}
    assert set(by_neighbours) <= {f"p{i}" for i in range(0, 10, 2)} and len(by_neighbours) >= 3
    assert all(r["article_id"] == "en-password-reset" and 0.5 <= r["confidence"] <= 1 for r in by_neighbours.values())
    assert not any(t.startswith("c") for t in links)      # a cluster far from any article: a gap, not a link
    # agent-made links stay untouched; confident inferred ones are evidence (seeds) in the index
    assert store.db.execute("select count(*) from tickets where article_id is not null").fetchone()[0] == 0
    bundle = IndexBundle.load(linked_home.index_dir)
    seeded = {str(r) for r, s in zip(bundle.ref, bundle.seed) if s >= 0 and str(r).startswith("p")}
    assert seeded == named
    counts = link_counts(store)
    assert counts["by_source"]["title"] == 5 and counts["total"] == 5 + len(by_neighbours)
    store.close()


def test_an_unchanged_index_gives_a_store_without_its_neighbourhood_links_them_back(linked_home):
    # a help center moved to another database (SQLite -> PostgreSQL): same content, the links not there
    store = open_store(linked_home.db_path)
    before = inferred_links(store)
    store.db.execute("delete from inferred_links where source = 'neighbours'")
    assert indexer.build(store, FakeEmbedder(), linked_home.index_dir)["mode"] == "unchanged"
    assert inferred_links(store) == before
    store.close()


def test_inference_is_redone_when_articles_or_tickets_change(linked_home):
    store = open_store(linked_home.db_path)
    store.upsert_tickets([_ticket("c-new", "coupon voucher code discount invalid shop", "See Coupon codes explained")])
    indexer.build(store, FakeEmbedder(), linked_home.index_dir)
    assert "c-new" not in inferred_links(store)
    store.upsert_articles([Article(id="coupons", title="Coupon codes explained", body="Codes.", language="en")])
    indexer.build(store, FakeEmbedder(), linked_home.index_dir)
    assert inferred_links(store)["c-new"]["article_id"] == "coupons"
    # an agent's link replaces the inferred one; a deleted article takes its inferred links with it
    store.upsert_tickets([_ticket("c-new", "coupon voucher code discount invalid shop", "See Coupon codes explained",
                                  article_id="delivery")])
    assert "c-new" not in inferred_links(store)
    store.upsert_tickets([_ticket("c-new", "coupon voucher code discount invalid shop", "See Coupon codes explained")])
    infer_from_resolutions(store)
    store.delete_article("coupons")
    assert "c-new" not in inferred_links(store)
    store.close()


def test_status_counts_inferred_links_by_source(linked_home):
    from deflect.cli import cli

    result = CliRunner().invoke(cli, ["status", "--home", str(linked_home.path), "--json"])
    assert result.exit_code == 0, result.output
    links = json.loads(result.output)["inferred_links"]
    assert links["by_source"]["title"] == 5 and links["total"] >= 8
    text = CliRunner().invoke(cli, ["status", "--home", str(linked_home.path)]).output
    assert "5 from title" in text and "from neighbours" in text and "article links inferred" in text


# -- shown as inferred, never as an agent's link --------------------------------------------------
def test_agent_api_marks_inferred_links(tmp_path):
    app, fake = make_app(tmp_path)
    fake.store.upsert_tickets([Ticket(id="T-9", subject="Passwort vergessen", body="Ich habe mein Passwort vergessen",
                                      resolution="Link zum Zurücksetzen geschickt.", article_id=None, language="de")])
    replace_links(fake.store, [{"ticket_id": "T-9", "article_id": "en-password-reset", "confidence": 0.93,
                                "source": "title", "evidence": "reset your password", "ticket_hash": ""}], ["title"])
    client = app.test_client()
    key = new_key(fake, "agent")
    r = client.post("/api/v1/agent/suggest", json={"subject": "Passwort", "body": "Passwort vergessen"},
                    headers=bearer(key))
    assert r.status_code == 200
    hits = {t["id"]: t for t in r.get_json()["tickets"]}
    assert hits["T-9"]["article_id"] is None
    assert hits["T-9"]["inferred_article"] == {"id": "en-password-reset", "confidence": 0.93, "source": "title"}
    linked = [t for t in hits.values() if t["article_id"]]
    assert linked and all(t["inferred_article"] is None for t in linked)


# -- the gap report -------------------------------------------------------------------------------
def test_gap_report_leaves_tickets_with_an_inferred_article_out(tmp_path):
    from test_gaps import NOW, article, by_content, estimator, gap_engine, report_of, ticket

    home = Home(tmp_path / "home").ensure()
    d = gap_engine(home)
    d.store.upsert_articles([article("refunds", "How do I get a refund?", ["refund for my order"]),
                             article("account", "Account access help", ["cannot sign in"])])
    tickets = [ticket(f"p{i}", f"I forgot my password {i}") for i in range(7)]
    tickets += [ticket(f"c{i}", f"the app crash again {i}") for i in range(6)]
    d.store.upsert_tickets(tickets)
    before = by_content(report_of(d, min_size=4, estimator=estimator(), now=NOW))
    assert {"password", "crash"} <= set(before)
    d.store.upsert_tickets([Ticket(id=t.id, subject=t.subject, body=t.body, language="en", created_at=t.created_at,
                                   channel=t.channel, article_id=None,
                                   resolution="Sent the article Account access help, reset worked.")
                            for t in tickets[:7]])
    infer_from_resolutions(d.store)
    after = report_of(d, min_size=4, estimator=estimator(), now=NOW)
    assert set(by_content(after)) == {"crash"}
    assert after["counts"]["linked"] == 7


def test_a_one_word_title_counts_when_it_is_named_not_used(matcher):
    one = ResolutionMatcher([*ARTICLES, Article(id="kuendigung", title="Kündigung", body="So kündigen Sie.",
                                                language="de")])
    found = one.match("Siehe Hilfeartikel: Kündigung.")
    assert (found.article_id, found.source) == ("kuendigung", "title") and found.confidence >= EVIDENCE_CONFIDENCE
    assert one.match("Kündigung zum Monatsende bestätigt, Kunde informiert").confidence < EVIDENCE_CONFIDENCE


@pytest.mark.parametrize("resolution, article_id", [
    ("Lieferadressänderung zum Umzug erfasst.", "umzug-lieferadresse"),     # compound: Lieferadress-änderung
    ("E-Mail-Adresse im Konto geändert, Bestätigungslink versendet.", "email-aendern"),   # Konto, geändert
])
def test_title_words_inside_longer_words_are_a_plausible_link_only(resolution, article_id):
    loose = ResolutionMatcher([*ARTICLES, Article(id="email-aendern", title="E-Mail-Adresse im Kundenkonto ändern",
                                                  body="Unter Mein Konto.", language="de")])
    found = loose.match(resolution)
    assert found is not None and (found.article_id, found.source) == (article_id, "title")
    assert found.confidence < EVIDENCE_CONFIDENCE


def test_a_shared_word_ending_is_no_title_word():
    loose = ResolutionMatcher([Article(id="widerruf", title="Kündigung widerrufen", body="Binnen 14 Tagen.",
                                       language="de")])
    assert loose.match("Bestätigung zum Widerruf versendet.") is None   # Bestät-igung is no Künd-igung


def test_tickets_with_a_plausible_link_do_not_vote_as_questions_without_an_article(linked_home):
    """The coupon cluster is a gap while nothing points to an article; once the resolutions plausibly
    name one (not surely: no evidence for it either), its tickets no longer say "no article here"."""
    from deflect.deflector import Deflector
    from deflect.engine import FEATURES

    query = "coupon voucher code discount invalid shop"
    store = open_store(linked_home.db_path, check_same_thread=False)
    store.upsert_articles([Article(id="coupons", title="Coupon codes explained", body="Codes.", language="en")])
    indexer.build(store, FakeEmbedder(), linked_home.index_dir)

    def knn_none() -> float:
        deflector = Deflector(linked_home, store, IndexBundle.load(linked_home.index_dir), FakeEmbedder(), None)
        features = deflector.score(deflector.embed_queries([query]), texts=[query]).features
        return float(features[0, FEATURES.index("knn_none")])

    gap = knn_none()
    hashes = dict(store.db.execute("select id, content_hash from tickets").fetchall())
    replace_links(store, [{"ticket_id": f"c{i}", "article_id": "coupons", "confidence": 0.65, "source": "title",
                           "evidence": "title words", "ticket_hash": hashes[f"c{i}"]} for i in range(6)], ["title"])
    assert gap > 0.5 and knn_none() < gap - 0.3
    store.close()


def test_tickets_with_a_plausible_link_are_no_calibration_examples_of_a_gap(linked_home):
    """A ticket-history calibration learns "no article" from unlinked tickets far from any article; an
    undecided ticket (its resolution plausibly names one) is no such example."""
    from deflect.decision.fit import ticket_history
    from deflect.deflector import Deflector

    store = open_store(linked_home.db_path, check_same_thread=False)
    store.upsert_articles([Article(id="coupons", title="Coupon codes explained", body="Codes.", language="en")])
    indexer.build(store, FakeEmbedder(), linked_home.index_dir)

    def uncovered() -> set[str]:
        deflector = Deflector(linked_home, store, IndexBundle.load(linked_home.index_dir), FakeEmbedder(), None)
        return {str(deflector.bundle.ref[p]) for p in ticket_history(deflector)[1]}

    before = uncovered()
    hashes = dict(store.db.execute("select id, content_hash from tickets").fetchall())
    replace_links(store, [{"ticket_id": f"c{i}", "article_id": "coupons", "confidence": 0.65, "source": "title",
                           "evidence": "title words", "ticket_hash": hashes[f"c{i}"]} for i in range(6)], ["title"])
    assert {f"c{i}" for i in range(6)} <= before and not {f"c{i}" for i in range(6)} & uncovered()
    store.close()
