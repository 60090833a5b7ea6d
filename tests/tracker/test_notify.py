"""Notifications through a real SMTP server (aiosmtpd, in process), on SQLite and PostgreSQL: each
cause mails the right people in their language and no one else; retries, giving up, digests;
nothing lost or sent twice across restarts of the worker and of the server."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from projections.outbox import notice_key
from tests.mail_support import (
    Today,
    causes,
    html_of,
    keys_of,
    mail_world,
    smtp_server,
    text_of,
)
from tracker.bootstrap import build_application, build_mailer, build_read_models
from tracker.mailer import MAX_ATTEMPTS, SmtpSender, SmtpTarget
from web.mail import Composer

START = date(2030, 3, 1)
P_EN, P_FR = "police.en@example.org", "police.fr@example.org"
VIG, WOMEN = "koglweogo@example.org", "femmes@example.org"


class Clock:
    def __init__(self) -> None:
        self.now = 1_900_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def setup(settings):
    today = Today(START)
    tracker = build_application(settings, today=today)
    models = build_read_models(settings, tracker)
    with smtp_server() as server:
        settings.smtp_url = server.url
        settings.mail_from = "Tracker <tracker@example.org>"
        settings.base_url = "https://tracker.example.org"
        world = mail_world(tracker)
        mailer = build_mailer(settings, tracker, models, Composer(),
                              sender=SmtpSender(SmtpTarget.parse(server.url)))
        clock = mailer.clock = Clock()
        yield tracker, models, world, mailer, server, today, clock
    models.close()
    tracker.close()


def act(tracker, world, who, commitment_id, action, **fields):
    return tracker.commitment_action(world.members[who], commitment_id, action, fields)


def propose(tracker, world, by="police-en", required=("police", "vigilante", "women"), **kw):
    kw.setdefault("title", "Joint night patrols on market days")
    return tracker.propose_commitment(world.members[by], world.slug,
                                      required_parties=[world.parties[k] for k in required], **kw).id


def sent(mailer, server):
    mailer.run_once()
    return server.inbox.take()


def test_each_cause_mails_the_right_people_in_their_language_and_no_one_else(setup):
    tracker, models, world, mailer, server, today, clock = setup
    cid = propose(tracker, world)
    messages = sent(mailer, server)
    # The required parties that have not endorsed (the police endorsed with its proposal).
    assert causes(messages) == {(VIG, "endorse"), (WOMEN, "endorse")}
    by_address = {str(m["To"]): m for m in messages}
    assert by_address[VIG]["Content-Language"] == "fr"
    assert "L'approbation de votre partie prenante est attendue" in text_of(by_address[VIG])
    assert "Your party's endorsement is needed" in text_of(by_address[WOMEN])
    assert f"https://tracker.example.org/commitments/{cid}" in html_of(by_address[WOMEN])
    for message in messages:
        assert message["List-Unsubscribe"].startswith("<https://tracker.example.org/unsubscribe/")
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert message["From"] == "Tracker <tracker@example.org>"

    act(tracker, world, "vigilante", cid, "endorse")
    act(tracker, world, "women", cid, "endorse")
    assert sent(mailer, server) == []  # endorsements tell nobody
    act(tracker, world, "police-en", cid, "agree")
    assert causes(sent(mailer, server)) == {(P_FR, "agreed")}  # the proposer's party, not the actor
    act(tracker, world, "police-en", cid, "assign", party_id=world.parties["police"],
        due_date=START + timedelta(days=20))
    assert causes(sent(mailer, server)) == {(P_FR, "responsible")}

    # Reminders, from the due date and the date of the run: once each, to the responsible party.
    today.day = START + timedelta(days=12)
    assert sent(mailer, server) == []
    today.day = START + timedelta(days=13)
    assert causes(sent(mailer, server)) == {(P_EN, "due_soon"), (P_FR, "due_soon")}
    today.day = START + timedelta(days=15)
    assert sent(mailer, server) == []
    today.day = START + timedelta(days=21)
    overdue = sent(mailer, server)
    assert causes(overdue) == {(P_EN, "overdue"), (P_FR, "overdue")}
    assert "En retard" in text_of(next(m for m in overdue if m["To"] == P_FR))
    assert sent(mailer, server) == []

    act(tracker, world, "police-en", cid, "complete", summary="Patrols run")
    assert sent(mailer, server) == []
    act(tracker, world, "women", cid, "dispute", reason="No patrol seen on Tuesday")
    disputed = sent(mailer, server)
    assert causes(disputed) == {(P_EN, "disputed"), (P_FR, "disputed")}
    assert "No patrol seen on Tuesday" in text_of(disputed[0])
    act(tracker, world, "police-fr", cid, "complete", summary="Patrols run, Tuesdays too")
    act(tracker, world, "vigilante", cid, "verify")
    assert causes(sent(mailer, server)) == {(P_EN, "verified"), (P_FR, "verified")}

    # A proposal rejected, and one amended.
    other = propose(tracker, world, by="vigilante", required=("vigilante", "police"),
                    title="Lights at the market")
    assert causes(sent(mailer, server)) == {(P_EN, "endorse"), (P_FR, "endorse")}
    act(tracker, world, "police-fr", other, "reject", reason="No budget this year")
    assert causes(sent(mailer, server)) == {(VIG, "rejected")}
    third = propose(tracker, world, by="women", required=("women", "vigilante"), title="Escorts")
    assert causes(sent(mailer, server)) == {(VIG, "endorse")}
    act(tracker, world, "women", third, "amend", title="Escorts after dark", reason="clearer")
    # Every required party is asked again (the amendment cleared the endorsements), the member
    # without an address gets nothing, the actor is not told of their own amendment.
    assert causes(sent(mailer, server)) == {(VIG, "endorse")}
    statuses = {row["status"] for row in mailer.deliveries()}
    assert statuses == {"sent", "skipped"}  # (the member without an address: skipped)


def test_watchers_are_told_of_every_change_to_what_they_watch(setup):
    tracker, models, world, mailer, server, today, clock = setup
    cid = propose(tracker, world, required=("police", "vigilante"))
    sent(mailer, server)
    tracker.watch(world.members["women"], cid)  # not a party to it, but may read it
    act(tracker, world, "vigilante", cid, "endorse")
    assert causes(sent(mailer, server)) == {(WOMEN, "watched")}
    tracker.unwatch(world.members["women"], cid)
    tracker.watch(world.members["women"], world.dialogue_id)  # the whole dialogue
    act(tracker, world, "police-en", cid, "agree")
    assert causes(sent(mailer, server)) == {(WOMEN, "watched"), (P_FR, "agreed")}


def test_digest_accounts_get_one_mail_a_day_and_off_gets_none(setup):
    tracker, models, world, mailer, server, today, clock = setup
    tracker.choose_mail(world.members["vigilante"], "digest")
    tracker.choose_mail(world.members["women"], "off")
    first = propose(tracker, world, title="First")
    second = propose(tracker, world, title="Second")
    messages = sent(mailer, server)
    assert [str(m["To"]) for m in messages] == [VIG]
    assert len(keys_of(messages[0])) == 2 and "First" in text_of(messages[0])
    assert "Second" in text_of(messages[0])
    propose(tracker, world, title="Third")
    assert sent(mailer, server) == []  # today's digest went out
    today.day = START + timedelta(days=1)
    tomorrow = sent(mailer, server)
    assert [str(m["To"]) for m in tomorrow] == [VIG] and "Third" in text_of(tomorrow[0])
    assert all(f"/{first}/" in k or f"/{second}/" in k for k in keys_of(messages[0]))


def test_a_server_that_is_down_is_tried_again_with_backoff_then_given_up(setup):
    tracker, models, world, mailer, server, today, clock = setup
    server.stop()
    propose(tracker, world, required=("police", "vigilante"))
    report = mailer.run_once()
    assert report.retried == 1 and report.sent == 0
    assert mailer.run_once().retried == 0  # not before its backoff
    server.start()
    clock.now += 61
    assert causes(sent(mailer, server)) == {(VIG, "endorse")}

    server.stop()
    propose(tracker, world, required=("police", "women"), title="Another")
    for _ in range(MAX_ATTEMPTS):
        mailer.run_once()
        clock.now += 7 * 3600
    rows = [r for r in mailer.deliveries() if r["status"] == "failed"]
    assert len(rows) == 1 and rows[0]["attempts"] == MAX_ATTEMPTS and rows[0]["error"]
    server.start()
    assert sent(mailer, server) == []  # given up, with the record


@pytest.mark.slow
def test_restarts_of_the_worker_and_of_the_server_lose_and_duplicate_nothing(setup, settings):
    tracker, models, world, mailer, server, today, clock = setup
    # 1,000 events: 500 proposals (each with the police's endorsement), each telling the
    # vigilante and women members with an address (and the one without, who is skipped).
    start = tracker.recorder.max_notification_id()
    for n in range(500):
        propose(tracker, world, required=("police", "vigilante", "women"), title=f"C{n}")
    assert tracker.recorder.max_notification_id() - start == 1000
    models.catch_up()
    silent = world.members["silent"].account_id
    expected = {notice_key(account, cause, row["commitment_id"], row["position"])
                for row in models.store.fetchall("SELECT * FROM ob_events")
                for account, cause in json.loads(row["told"]) if account != silent}
    assert len(expected) == 1000
    received: list[str] = []

    # A first worker sends part of it and dies.
    class Dying(Exception):
        pass

    real_send = mailer.sender.send
    count = {"n": 0}

    def send_then_die(message):
        count["n"] += 1
        if count["n"] == 301:
            raise Dying()
        real_send(message)

    mailer.sender.send = send_then_die
    with pytest.raises(Dying):
        mailer.run_once()
    received += [k for m in server.inbox.take() for k in keys_of(m)]
    assert len(received) == 300
    # A new worker (another process, after a restart), the server stopping after 200 more.
    models2 = build_read_models(settings, tracker)
    worker = build_mailer(settings, tracker, models2, Composer(),
                          sender=SmtpSender(SmtpTarget.parse(server.url)))
    worker.clock = clock
    clock.now += 301  # the dead worker's claim has expired
    stopping = worker.sender.send
    sent_now = {"n": 0}

    def stop_after_200(message):
        if sent_now["n"] == 200:
            server.stop()
        sent_now["n"] += 1
        stopping(message)

    worker.sender.send = stop_after_200
    report = worker.run_once()
    assert report.retried > 0
    received += [k for m in server.inbox.take() for k in keys_of(m)]
    server.start()
    worker.sender.send = stopping
    clock.now += 3600
    worker.run_once()
    received += [k for m in server.inbox.take() for k in keys_of(m)]
    assert len(received) == len(set(received)) == 1000
    assert set(received) == expected
    # A rebuild of every read model (the outbox too) sends nothing again.
    models2.rebuild()
    clock.now += 3600
    assert worker.run_once().messages == 0
    assert server.inbox.take() == []
    models2.close()


def test_without_an_smtp_url_notify_says_so(cli_env, capsys):
    from tracker.cli import main

    assert main(["notify", "--once"]) == 0
    assert "TRACKER_SMTP_URL" in capsys.readouterr().err


def test_notify_once_sends_through_the_configured_server(cli_env, monkeypatch, capsys):
    from tracker.cli import main

    tracker = build_application(cli_env)
    world = mail_world(tracker)
    propose(tracker, world, required=("police", "vigilante"))
    tracker.close()
    with smtp_server() as server:
        monkeypatch.setenv("TRACKER_SMTP_URL", server.url)
        monkeypatch.setenv("TRACKER_MAIL_FROM", "tracker@example.org")
        assert main(["notify", "--once"]) == 0
        assert causes(server.inbox.take()) == {(VIG, "endorse")}
        assert main(["notify", "--once"]) == 0
        assert server.inbox.take() == []
