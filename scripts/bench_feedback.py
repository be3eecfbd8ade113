#!/usr/bin/env python3
"""Feedback benchmark: does deflect learn from votes, resist a flood of false ones, and does the holdout
experiment recover a known effect?

    .venv/bin/python -m scripts.bench_feedback                    # banking77 and xsid_de, writes docs/
    .venv/bin/python -m scripts.bench_feedback --cases xsid_de --rounds 2 --no-write

Per case (``make_case.py DATASET --history none``: a help center on its first day, FAQ only) deflect is
built through its CLI (ingest, index, calibrate on dev.jsonl) and then driven through its HTTP API
(Flask test client), as the widget would: every simulated customer is a new widget session with its own
client address. The test inquiries are split at random into a *replayed* half and an *unseen* half.
Each round, every replayed inquiry is asked again by a new customer, who reads what deflect shows and
votes only on what it shows (``shown`` in the reply, the product's rule): an answer shows one article (two
when nearly tied), a suggestion up to three, "no answer" none. A customer who sees the right article among
the shown ones votes "helpful" on it, otherwise "not helpful" on the first shown one; one customer in ten
votes at random (a random shown article, a random verdict). Where deflect shows nothing the customer does
not vote. Per round the report also counts, for the replayed covered inquiries, how many have a wrong
first article and how many of those were shown at all: only those can be voted down. After the round
deflect refits in the background (``POST /api/v1/learned/refit``).

With ``--agents on`` the loop goes on as in the product: a replayed customer who was shown nothing or
voted "not helpful" contacts support (the widget's ``contacted_support`` event); after the round an
agent resolves each such ticket with the right article, one in twenty with a random other article (an
agent's error), without one where no article covers it, and the help desk pushes the resolved ticket
with the widget's session id (``PUT /api/v1/tickets/<id>``, the path of help desks without a connector):
deflect learns that the session's search means the article, and the ticket becomes searchable. ``--agents off`` is
the vote-only loop; ``both`` (the default) runs each on its own copy of the case's home. The unseen half
is only asked, never voted on: its curve shows what generalises beyond the phrasings voted on.

Then a flood: 5 sessions send 500 "helpful" votes (100 each, from 5 addresses) for a wrong article on
one phrasing; every test inquiry is asked again and the answers (first article and decision) compared.

Holdout: on the first case's home with ``HOLDOUT=0.3``, sessions ask one test inquiry each; a session
would contact support with probability 0.5 without deflect, and a shown session contacts with
0.5 x (1 - 0.3) (the true effect: 30 % of shown sessions' contacts prevented, a difference of -0.15).
Contacts arrive as the contact form's event or as a ticket pushed with the session id, half each. The
metrics' difference and 95 % interval are checked against the true effect. truth.jsonl is not read;
test labels are used only to simulate the customers' votes and to score.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import shutil
import tempfile
import time
from pathlib import Path

from scripts.common import DOCS, make_case, read_jsonl, replace_section, run_deflect

CASES = ("banking77", "xsid_de")
RANDOM_VOTERS = 0.1
FLOOD_SESSIONS, FLOOD_VOTES = 5, 500
HOLDOUT_SHARE, CONTACT_P, TRUE_PREVENTED = 0.3, 0.5, 0.3
AGENT_ERROR = 0.05
VARIANTS = {"off": (False,), "on": (True,), "both": (False, True)}


class Customers:
    """The widget's side of the API through a Flask test client: new sessions, own addresses."""

    def __init__(self, app, admin_key: str):
        self.client = app.test_client()
        self.admin = {"Authorization": f"Bearer {admin_key}"}
        self.n = 0

    def new(self) -> tuple[str, str]:
        self.n += 1
        return f"bench-{self.n}", f"10.{self.n // 65536 % 256}.{self.n // 256 % 256}.{self.n % 256}"

    def ask(self, text: str, session: str, ip: str) -> dict:
        r = self.client.post("/api/v1/suggest", json={"text": text, "session": session},
                             environ_base={"REMOTE_ADDR": ip})
        assert r.status_code == 200, r.get_data(as_text=True)
        return r.get_json()

    def vote(self, inquiry: str, article: str, helpful: bool, session: str, ip: str) -> None:
        r = self.client.post("/api/v1/feedback", json={"inquiry_id": inquiry, "article_id": article,
                                                       "helpful": helpful, "session": session},
                             environ_base={"REMOTE_ADDR": ip})
        assert r.status_code == 201, r.get_data(as_text=True)

    def forge(self, inquiry: str, article: str, session: str, ip: str) -> int:
        """A "helpful" vote for an article the suggestion did not show; the status it gets (400: refused)."""
        return self.client.post("/api/v1/feedback", json={"inquiry_id": inquiry, "article_id": article,
                                                          "helpful": True, "session": session},
                                environ_base={"REMOTE_ADDR": ip}).status_code

    def contact(self, inquiry: str, session: str, ip: str) -> None:
        """The customer writes to support (the widget's event when the contact form is sent)."""
        r = self.client.post("/api/v1/feedback", json={"inquiry_id": inquiry, "event": "contacted_support",
                                                       "session": session}, environ_base={"REMOTE_ADDR": ip})
        assert r.status_code == 201, r.get_data(as_text=True)

    def resolve(self, session: str, text: str, article: str | None) -> None:
        """The help desk pushes the ticket, resolved by an agent with ``article`` (none: answered without
        one), with the session id the widget put into the contact form."""
        r = self.client.put(f"/api/v1/tickets/ticket-{session}", headers=self.admin,
                            json={"subject": text, "body": text, "resolution": "Answered by an agent.",
                                  "article_id": article, "session": session})
        assert r.status_code in (200, 201), r.get_data(as_text=True)

    def refit(self) -> dict:
        r = self.client.post("/api/v1/learned/refit", json={"wait": True}, headers=self.admin)
        assert r.status_code == 200, r.get_data(as_text=True)
        return r.get_json()


def shown_ids(answer: dict) -> list[str]:
    """The articles the customer sees: none on no_answer, the answer (two when nearly tied), or the suggestions."""
    return [a["id"] for a in answer["articles"][:answer["shown"]]]


def customer_vote(row: dict, answer: dict, rng: random.Random) -> tuple[str, bool] | None:
    """The vote of a customer who read the reply: none when nothing was shown; "helpful" on the right
    article when it is among the shown ones, else "not helpful" on the first shown; one in ten votes at
    random (a random shown article, a random verdict)."""
    seen = shown_ids(answer)
    if not seen:
        return None
    if rng.random() < RANDOM_VOTERS:
        return rng.choice(seen), rng.random() < 0.5
    if row["expected_article"] in seen:
        return row["expected_article"], True
    return seen[0], False


SHOWN_TALLY = ("covered", "wrong_first", "wrong_first_shown", "wrong_first_right_shown", "nothing_shown")


def tally_shown(tally: dict, row: dict, answer: dict) -> None:
    """Counts what the customers of covered inquiries saw, to tell why votes can (or cannot) fix a ranking:
    a wrong first article is only voted on when it is shown."""
    if row["expected_article"] is None:
        return
    seen = shown_ids(answer)
    first = (answer["articles"] or [{"id": None}])[0]["id"]
    tally["covered"] += 1
    tally["nothing_shown"] += not seen
    if first != row["expected_article"]:
        tally["wrong_first"] += 1
        tally["wrong_first_shown"] += bool(seen)
        tally["wrong_first_right_shown"] += row["expected_article"] in seen


def vote_reach(app, rows: list[dict], answers: dict[str, dict]) -> dict:
    """Why votes did (or did not) move the replayed inquiries that still have a wrong first article: per
    inquiry, the distinct customers' voices near it (``LearnedBoost.voices``) that said its right article
    helped, against ``min_sessions`` needed to raise an article; and those that said its wrong first one
    did not, against ``min_sessions_down``."""
    engine = app.extensions["deflect"]["deflector"]
    learned = engine.learned
    wrong = [r for r in rows if r["expected_article"] is not None
             and (answers[r["id"]]["articles"] or [{"id": None}])[0]["id"] != r["expected_article"]]
    reach = {"wrong_first": len(wrong), "right_shown": 0, "up_enough": 0, "up_some": 0, "up_none": 0,
             "down_enough": 0, "min_sessions": None, "min_sessions_down": None}
    if learned is None or not wrong:
        return reach
    p = learned.params
    reach.update(min_sessions=p.min_sessions, min_sessions_down=p.min_sessions_down)
    ids = engine.bundle.article_ids[:engine.bundle.n_articles]
    vectors = engine.embed_queries([r["text"] for r in wrong])
    for row, vector in zip(wrong, vectors):
        up, down = learned.voices(vector, ids)
        right = ids.index(row["expected_article"]) if row["expected_article"] in ids else None
        first = answers[row["id"]]["articles"][0]["id"] if answers[row["id"]]["articles"] else None
        reach["right_shown"] += row["expected_article"] in shown_ids(answers[row["id"]])
        voices_up = int(up[right]) if right is not None else 0
        reach["up_enough" if voices_up >= p.min_sessions else "up_some" if voices_up else "up_none"] += 1
        reach["down_enough"] += first in ids and int(down[ids.index(first)]) >= p.min_sessions_down
    return reach


def first_article(answers: dict[str, dict], row: dict) -> str | None:
    """The first article deflect ranked for ``row`` (None: none)."""
    return (answers[row["id"]]["articles"] or [{"id": None}])[0]["id"]


def score(rows: list[dict], answers: dict[str, dict]) -> dict:
    covered = [r for r in rows if r["expected_article"] is not None]
    uncovered = [r for r in rows if r["expected_article"] is None]
    first = lambda r: first_article(answers, r)  # noqa: E731
    answered = lambda r: answers[r["id"]]["decision"] == "answer"  # noqa: E731
    return {
        "top1": sum(first(r) == r["expected_article"] for r in covered) / max(1, len(covered)),
        "deflected": sum(answered(r) and first(r) == r["expected_article"] for r in covered) / max(1, len(covered)),
        "wrong_answer": sum(answered(r) and first(r) != r["expected_article"] for r in covered) / max(1, len(covered)),
        "answered_uncovered": sum(answered(r) for r in uncovered) / max(1, len(uncovered)),
    }


def paired_flips(rows: list[dict], before: dict[str, dict], after: dict[str, dict]) -> dict:
    """The covered ``rows`` whose first article turned right (``fixed``) or wrong (``broken``) between two
    rounds' answers, and the exact two-sided sign test of fixed against broken (McNemar): how likely so
    lopsided a split is if feedback changed first articles at random."""
    fixed = broken = 0
    for r in rows:
        if r["expected_article"] is None:
            continue
        was, now = (first_article(before, r) == r["expected_article"],
                    first_article(after, r) == r["expected_article"])
        fixed, broken = fixed + (now and not was), broken + (was and not now)
    n, low = fixed + broken, min(fixed, broken)
    p = min(1.0, 2 * sum(math.comb(n, i) for i in range(low + 1)) / 2 ** n) if n else 1.0
    return {"fixed": fixed, "broken": broken, "p_value": p}


def agent_article(row: dict, article_ids: list[str], rng: random.Random) -> str | None:
    """The article an agent resolves the ticket with: the right one, one time in twenty another; none
    when no article covers it."""
    if row["expected_article"] is None:
        return None
    if rng.random() < AGENT_ERROR:
        return rng.choice([a for a in article_ids if a != row["expected_article"]])
    return row["expected_article"]


def build_home(dataset: str, tmp: Path) -> tuple[Path, Path]:
    case = make_case(dataset, tmp / f"case-{dataset}", 0, ["--history", "none"])
    home = tmp / f"home-{dataset}"
    run_deflect(["ingest", str(case / "articles")], home)
    run_deflect(["index", "--quiet"], home)
    run_deflect(["calibrate", str(case / "dev.jsonl")], home)
    return case, home


def open_app(home: Path, deflector=None, **config):
    from deflect.web import create_app

    from deflect.store import open_store
    from deflect.store.service import create_key

    app = create_app({"DEFLECT_HOME": str(home), "RATE_LIMIT": "off", "DEFLECTOR": deflector, **config})
    store = open_store(home / "deflect.db")
    _, key = create_key(store, "bench", "admin")
    store.close()
    return app, key


def feedback_run(dataset: str, built: tuple[Path, Path], rounds: int, limit: int | None, rng: random.Random,
                 agents: bool) -> tuple[dict, object]:
    case, built_home = built
    home = built_home.with_name(f"{built_home.name}-{'agents' if agents else 'votes'}")
    shutil.copytree(built_home, home)
    test = read_jsonl(case / "test.jsonl")
    test_total = len(test)
    article_ids = sorted(p.stem for p in (case / "articles").glob("*.md"))
    rng.shuffle(test)
    if limit:
        test = test[:limit]
    replayed, unseen = test[: len(test) // 2], test[len(test) // 2:]
    app, key = open_app(home)
    customers = Customers(app, key)
    curve = []
    first_answers: dict[str, dict] = {}
    votes = contacts = choices = 0
    for rnd in range(rounds + 1):
        t0 = time.perf_counter()
        answers = {}
        shown = dict.fromkeys(SHOWN_TALLY, 0)
        tickets = []
        for row in replayed + unseen:
            session, ip = customers.new()
            answer = customers.ask(row["text"], session, ip)
            answers[row["id"]] = answer
            if row in unseen:
                continue
            tally_shown(shown, row, answer)
            if rnd == rounds:
                continue
            vote = customer_vote(row, answer, rng)
            if vote is not None:
                customers.vote(answer["id"], *vote, session, ip)
                votes += 1
            if agents and (vote is None or not vote[1]):
                customers.contact(answer["id"], session, ip)
                tickets.append((row, session))
        # the tickets are resolved after the round: its answers are scored before anything they teach
        for row, session in tickets:
            article = agent_article(row, article_ids, rng)
            customers.resolve(session, row["text"], article)
            contacts += 1
            choices += article is not None
        state = customers.refit() if rnd < rounds else None
        if rnd == 0:
            first_answers = answers
        curve.append({"round": rnd, "replayed": score(replayed, answers), "unseen": score(unseen, answers),
                      "votes_so_far": votes, "contacts_so_far": contacts, "agent_choices_so_far": choices,
                      "replayed_shown": shown,
                      "evidence_in_use": state and state["evidence_in_use"],
                      "seconds": round(time.perf_counter() - t0, 1)})
        print(dataset, curve[-1], flush=True)
    curve[-1]["vote_reach"] = vote_reach(app, replayed, answers)
    curve[-1]["flips"] = paired_flips(replayed, first_answers, answers)
    print(dataset, "vote reach", curve[-1]["vote_reach"], "flips", curve[-1]["flips"], flush=True)
    before = answers
    # The flood: a phrasing answered right, 500 false "helpful" votes for another article from 5 sessions.
    target = next(r for r in replayed if r["expected_article"] is not None
                  and before[r["id"]]["decision"] == "answer"
                  and before[r["id"]]["articles"][0]["id"] == r["expected_article"])
    wrong = rng.choice([a for a in article_ids if a != target["expected_article"]])
    refused = 0
    for s in range(FLOOD_SESSIONS):
        session, ip = f"flood-{s}", f"192.0.2.{s + 1}"
        for _ in range(FLOOD_VOTES // FLOOD_SESSIONS):
            answer = customers.ask(target["text"], session, ip)
            if wrong in shown_ids(answer):
                customers.vote(answer["id"], wrong, True, session, ip)
            else:   # the suggestion did not show it: the service refuses the vote
                refused += customers.forge(answer["id"], wrong, session, ip) == 400
    customers.refit()
    changed = 0
    for row in replayed + unseen:
        session, ip = customers.new()
        after = customers.ask(row["text"], session, ip)
        b = before[row["id"]]
        if (after["decision"], [a["id"] for a in after["articles"][:1]]) != (b["decision"],
                                                                            [a["id"] for a in b["articles"][:1]]):
            changed += 1
    flood = {"article": wrong, "phrasing_expected": target["expected_article"], "votes": FLOOD_VOTES,
             "refused": refused, "sessions": FLOOD_SESSIONS, "answers_changed": changed,
             "answers_checked": len(test)}
    print(dataset, "flood", flood, flush=True)
    return {"case": dataset, "agents": agents, "replayed": len(replayed), "unseen": len(unseen),
            "test_total": test_total, "limit": limit, "curve": curve, "flood": flood}, (app, case)


def holdout_run(app, case: Path, sessions: int, rng: random.Random) -> dict:
    """Sessions on a second app (same engine) with the holdout experiment on; contacts with a known effect."""
    engine = app.extensions["deflect"]["deflector"]
    home = Path(app.config["DEFLECT_HOME"])
    holdout_app, key = open_app(home, deflector=engine, HOLDOUT=HOLDOUT_SHARE)
    client = holdout_app.test_client()
    agent = {"Authorization": f"Bearer {key}"}
    test = read_jsonl(case / "test.jsonl")
    for n in range(sessions):
        row = rng.choice(test)
        session = f"holdout-sim-{n}"
        answer = client.post("/api/v1/suggest", json={"text": row["text"], "session": session}).get_json()
        p = CONTACT_P if answer.get("holdout") else CONTACT_P * (1 - TRUE_PREVENTED)
        if rng.random() >= p:
            continue
        if rng.random() < 0.5:   # the contact form (the widget sends contacted_support)
            r = client.post("/api/v1/feedback", json={"inquiry_id": answer["id"], "event": "contacted_support",
                                                      "session": session})
        else:                    # a ticket that reaches the help desk with the form's hidden session field
            r = client.put(f"/api/v1/tickets/sim-{n}", json={"subject": row["text"], "body": row["text"],
                                                            "session": session}, headers=agent)
        assert r.status_code in (200, 201), r.get_data(as_text=True)
    metrics = client.get("/api/v1/metrics?days=1", headers=agent).get_json()["holdout"]
    true_difference = -CONTACT_P * TRUE_PREVENTED
    low, high = metrics["difference"]["ci95"]
    result = {"sessions": sessions, "share": HOLDOUT_SHARE, "true_difference": true_difference,
              "true_prevented": TRUE_PREVENTED, "measured": metrics, "covered": low <= true_difference <= high}
    print("holdout", json.dumps(result)[:600], flush=True)
    return result


def shown_sentence(curve: list[dict]) -> str:
    """What votes could reach: a wrong first article is voted down only where deflect shows it."""
    first, last = curve[0].get("replayed_shown"), curve[-1].get("replayed_shown")
    if not first:
        return ""
    return (f"What the votes could reach (replayed inquiries with an article): before feedback "
            f"{first['wrong_first']} of {first['covered']} had a wrong first article; deflect showed "
            f"{first['wrong_first_shown']} of them at all (the others got \"no answer\": nobody sees, nobody votes), "
            f"{first['wrong_first_right_shown']} with the right article among the shown ones. "
            f"{first['nothing_shown']} of {first['covered']} were shown nothing. After round {curve[-1]['round']}: "
            f"{last['wrong_first']} wrong first, {last['wrong_first_shown']} of them shown, "
            f"{last['nothing_shown']} shown nothing.{flips_sentence(curve[-1].get('flips'))}"
            f"{reach_sentence(curve[-1].get('vote_reach'))}")


def flips_sentence(flips: dict | None) -> str:
    """The paired change of the replayed inquiries' first article from round 0 to the last round."""
    if not flips:
        return ""
    return (f" Paired, round 0 to the last: {flips['fixed']} inquiries' first article turned right, "
            f"{flips['broken']} turned wrong (exact sign test, two-sided: p = {flips['p_value']:.2g}).")


def reach_sentence(reach: dict | None) -> str:
    """Who stood behind the right article of the inquiries still ranked wrong after the last round."""
    if not reach or not reach["wrong_first"] or reach["min_sessions"] is None:
        return ""
    return (f" Of those {reach['wrong_first']} still wrong first, {reach['right_shown']} had the right article "
            f"among the shown ones; near {reach['up_enough']} of them at least {reach['min_sessions']} distinct "
            f"customers (sessions and addresses; what raising an article needs) had voted its right article "
            f"helpful, near {reach['up_some']} fewer, near {reach['up_none']} none; near {reach['down_enough']} at "
            f"least {reach['min_sessions_down']} had voted the wrong first one not helpful (what lowering needs).")


def write_report(runs: list[dict], holdout: dict | None, args) -> None:
    lines = [f"Measured {time.strftime('%Y-%m-%d')} by `scripts/bench_feedback.py` on this machine "
             f"({os.cpu_count()} cores, {platform.python_version()}); seed 0, cases built with "
             "`make_case.py DATASET --history none`. Per round every *replayed* inquiry is asked by a new "
             "customer (own session and address) who votes only on the articles deflect shows (an answer, or "
             "the suggestions; nothing on \"no answer\"): \"helpful\" on the right article when it is among "
             f"them, else \"not helpful\" on the first shown; {RANDOM_VOTERS:.0%} vote at random among the shown "
             "ones; *unseen* inquiries are asked, never voted on. Round 0 is before any feedback. "
             "**Votes only**: nothing else is learned. **Votes and agents**: in addition, a replayed customer "
             "who was shown nothing or voted \"not helpful\" contacts support (the widget's event and a ticket "
             f"after the round an agent resolves with the right article ({AGENT_ERROR:.0%} with a random other "
             "article, none where no article covers it) and the help desk pushes with the session id, "
             "`PUT /api/v1/tickets/<id>`. Both "
             "variants replay the same inquiries with the same customers.", ""]
    for run in runs:
        sample = ""
        if run.get("limit") and run.get("test_total", 0) > run["replayed"] + run["unseen"]:
            sample = (f"; a random {run['replayed'] + run['unseen']} of the case's {run['test_total']} test "
                      f"inquiries, `--limit {run['limit']}`: the full run did not fit the time on a shared machine")
        variant = "votes and agents" if run.get("agents") else "votes only"
        lines += [f"**{run['case']}, {variant}** ({run['replayed']} replayed, {run['unseen']} unseen test "
                  f"inquiries{sample})", "",
                  "| round | votes so far | tickets so far | resolved with an article so far | replayed top1 | "
                  "replayed deflected | replayed wrong answer | "
                  "unseen top1 | unseen deflected | unseen wrong answer | answered uncovered (all) |",
                  "|---|---|---|---|---|---|---|---|---|---|---|"]
        for c in run["curve"]:
            r, u = c["replayed"], c["unseen"]
            both = (r["answered_uncovered"] + u["answered_uncovered"]) / 2
            lines.append(f"| {c['round']} | {c['votes_so_far']} | {c.get('contacts_so_far', 0)} | "
                         f"{c.get('agent_choices_so_far', 0)} | {r['top1']:.3f} | {r['deflected']:.3f} | "
                         f"{r['wrong_answer']:.3f} | {u['top1']:.3f} | {u['deflected']:.3f} | "
                         f"{u['wrong_answer']:.3f} | {both:.3f} |")
        lines += ["", shown_sentence(run["curve"])]
        f = run["flood"]
        lines += ["", f"Flood: {f['votes']} false \"helpful\" votes from {f['sessions']} sessions (5 addresses) for "
                  f"`{f['article']}` on a phrasing of `{f['phrasing_expected']}`: **{f['answers_changed']} of "
                  f"{f['answers_checked']} answers changed** (first article and decision).", ""]
    if holdout:
        m = holdout["measured"]
        d = m["difference"]
        lines += [f"**Holdout simulation** ({runs[0]['case']} engine, `HOLDOUT={holdout['share']}`, "
                  f"{holdout['sessions']} sessions; without deflect a session contacts with p = {CONTACT_P}, "
                  "a shown session with "
                  f"{CONTACT_P} × (1 − {holdout['true_prevented']})): true difference "
                  f"{holdout['true_difference']:+.3f}; "
                  f"measured shown {m['shown']['contact_rate']:.3f} ({m['shown']['sessions']} sessions) vs held out "
                  f"{m['holdout']['contact_rate']:.3f} ({m['holdout']['sessions']}), difference {d['value']:+.3f}, "
                  f"95 % CI [{d['ci95'][0]:+.3f}, {d['ci95'][1]:+.3f}] — "
                  f"{'contains' if holdout['covered'] else 'MISSES'} the true effect; prevented share "
                  f"{m['prevented_share']:.2f} (true {holdout['true_prevented']}).", "",
                  f"> {m['meaning']}"]
    block = "\n".join(lines)
    if args.write:
        replace_section(args.out, "feedback", block)
        args.json.write_text(json.dumps({"runs": runs, "holdout": holdout}, indent=1))
    print(block)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cases", nargs="+", default=list(CASES), choices=CASES)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--limit", type=int, default=None, help="at most this many test inquiries per case")
    p.add_argument("--agents", choices=tuple(VARIANTS), default="both",
                   help="customers who find nothing contact support and agents choose the article (on), "
                        "votes only (off), or each in turn (both)")
    p.add_argument("--holdout-sessions", type=int, default=2000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-write", dest="write", action="store_false")
    p.add_argument("--out", type=Path, default=DOCS / "benchmarks.md")
    p.add_argument("--json", type=Path, default=DOCS / "bench_feedback.json")
    p.add_argument("--save", type=Path, help="write this run's raw results here (JSON) instead of the report")
    p.add_argument("--merge", type=Path, nargs="+", help="write the report from runs saved with --save")
    args = p.parse_args()
    if args.merge:
        saved = [json.loads(path.read_text()) for path in args.merge]
        write_report([r for s in saved for r in s["runs"]], next((s["holdout"] for s in saved if s["holdout"]), None),
                     args)
        return
    from deflect.embedder import set_threads
    set_threads(1)   # as `deflect serve` runs each worker: more threads per query only contend here
    rng = random.Random(args.seed)
    runs, holdout = [], None
    with tempfile.TemporaryDirectory(prefix="deflect-bench-feedback-") as tmp:
        for dataset in args.cases:
            built = build_home(dataset, Path(tmp))
            for agents in VARIANTS[args.agents]:
                # the same split and customers for both variants: a fresh generator per run
                run, (app, case) = feedback_run(dataset, built, args.rounds, args.limit, random.Random(args.seed),
                                                agents)
                runs.append(run)
                if holdout is None and args.holdout_sessions:   # on the first case's engine
                    holdout = holdout_run(app, case, args.holdout_sessions, rng)
    if args.save:
        args.save.write_text(json.dumps({"runs": runs, "holdout": holdout}, indent=1))
        return
    write_report(runs, holdout, args)


if __name__ == "__main__":
    main()
