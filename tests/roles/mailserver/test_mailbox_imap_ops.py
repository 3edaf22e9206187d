# What an IMAP server needs from the mailbox store: APPEND with flags and internal date,
# UIDNEXT, \Recent by claiming new/, COPY and MOVE with their UID pairs, subscriptions,
# and change events an IDLE session waits on.
from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from roles.mailserver.mailbox_store import MaildirMailboxes
from roles.mailserver.storage import Flag

BOB = "bob@hamburger.edu"
APRIL_FIRST = 1711929600.0  # 2024-04-01 00:00 UTC


def message(subject: str) -> bytes:
    return f"From: alice@crepes.fr\r\nSubject: {subject}\r\n\r\nhello\r\n".encode()


def test_append_keeps_flags_and_internal_date_and_answers_the_uid(tmp_path: Path) -> None:
    store = MaildirMailboxes(tmp_path)
    store.deliver(BOB, message("first"))
    assert store.uid_next(BOB, "Sent") == 1
    appended = store.append(BOB, "Sent", message("draft"), {Flag.SEEN, Flag.DRAFT}, APRIL_FIRST)
    assert (appended.uid, appended.flags, appended.internal_date) == (
        1, frozenset({Flag.SEEN, Flag.DRAFT}), APRIL_FIRST)
    assert store.uid_next(BOB, "Sent") == 2
    (listed,) = MaildirMailboxes(tmp_path).list(BOB, "Sent")
    assert listed == appended
    assert store.read(BOB, appended.id, "Sent") == message("draft")
    assert [p.name for p in (tmp_path / BOB / ".Sent" / "cur").iterdir()] == [
        f"{appended.id}:2,DS"]
    with pytest.raises(KeyError, match="no folder 'Nowhere'"):
        store.append(BOB, "Nowhere", message("x"))


def test_recent_goes_to_the_first_claim_only(tmp_path: Path) -> None:
    store = MaildirMailboxes(tmp_path)
    delivered = store.deliver(BOB, message("delivered"))
    appended_message = store.append(BOB, "INBOX", message("appended, no flags"))
    assert appended_message.uid == 2  # the delivery, not yet seen, got its UID first
    appended = appended_message.id
    store.append(BOB, "INBOX", message("appended seen"), {Flag.SEEN})
    assert store.claim_recent(BOB) == {delivered, appended}
    assert store.claim_recent(BOB) == frozenset()
    later = store.deliver(BOB, message("later"))
    assert store.claim_recent(BOB) == {later}
    assert [m.uid for m in store.list(BOB)] == [1, 2, 3, 4]  # claiming changes no UID
    assert store.read(BOB, delivered) == message("delivered")
    assert store.set_flags(BOB, delivered, {Flag.SEEN}) == {Flag.SEEN}


def test_copy_keeps_flags_and_dates_and_answers_uid_pairs_in_order(tmp_path: Path) -> None:
    store = MaildirMailboxes(tmp_path)
    ids = [store.deliver(BOB, message(f"m{n}")) for n in range(3)]
    assert [m.uid for m in store.list(BOB)] == [1, 2, 3]  # the client has seen them
    store.set_flags(BOB, ids[1], {Flag.FLAGGED})
    store.create_folder(BOB, "Archive")
    store.deliver(BOB, message("already there"), folder="Archive")
    store.delete(BOB, ids[0])
    pairs = store.copy(BOB, "INBOX", [ids[2], ids[0], ids[1]], "Archive")
    assert pairs == [(3, 2), (2, 3)]  # the deleted one skipped, UIDs in the order asked
    archive = store.list(BOB, "Archive")
    by_uid = {m.uid: m for m in archive}
    assert store.read(BOB, by_uid[2].id, "Archive") == message("m2")
    assert by_uid[3].flags == {Flag.FLAGGED}
    inbox = {m.uid: m for m in store.list(BOB)}
    assert by_uid[3].internal_date == inbox[2].internal_date
    store.set_flags(BOB, by_uid[3].id, {Flag.SEEN}, "Archive")
    assert store.list(BOB)[0].flags == {Flag.FLAGGED}  # the copies part ways
    assert store.copy(BOB, "INBOX", [ids[1]], "INBOX") == [(2, 4)]  # into the same folder


def test_move_deletes_the_sources_after_the_copy(tmp_path: Path) -> None:
    store = MaildirMailboxes(tmp_path)
    ids = [store.deliver(BOB, message(f"m{n}")) for n in range(3)]
    assert store.move(BOB, "INBOX", ids[:2], "Trash") == [(1, 1), (2, 2)]
    assert [m.id for m in store.list(BOB)] == [ids[2]]
    assert [store.read(BOB, m.id, "Trash") for m in store.list(BOB, "Trash")] == [
        message("m0"), message("m1")]
    with pytest.raises(KeyError, match="no folder 'Gone'"):
        store.move(BOB, "INBOX", ids[2:], "Gone")
    assert [m.id for m in store.list(BOB)] == [ids[2]]


def test_subscriptions_default_persist_and_survive_rename_and_delete(tmp_path: Path) -> None:
    store = MaildirMailboxes(tmp_path)
    assert store.subscriptions(BOB) == ["INBOX", "Sent", "Junk", "Trash"]
    store.create_folder(BOB, "Work")
    store.subscribe(BOB, "Work")
    store.subscribe(BOB, "Work")
    store.unsubscribe(BOB, "Junk")
    store.rename_folder(BOB, "Work", "Play")
    assert MaildirMailboxes(tmp_path).subscriptions(BOB) == ["INBOX", "Sent", "Trash", "Work"]
    store.delete_folder(BOB, "Play")
    assert store.subscriptions(BOB) == ["INBOX", "Sent", "Trash", "Work"]
    with pytest.raises(KeyError, match="not subscribed to 'Junk'"):
        store.unsubscribe(BOB, "Junk")
    with pytest.raises(ValueError, match="invalid folder name"):
        store.subscribe(BOB, "a/b")


async def test_a_watch_is_woken_by_a_delivery_in_another_thread(tmp_path: Path) -> None:
    store = MaildirMailboxes(tmp_path)
    store.create_folder(BOB, "Archive")
    with store.events.subscribe(BOB, "inbox") as inbox, \
            store.events.subscribe(BOB, "Archive") as archive:
        assert not await inbox.wait(timeout=0.01)
        await asyncio.to_thread(store.deliver, BOB, message("news"))
        assert await inbox.wait(timeout=30)
        assert not archive.changed()
        (stored,) = store.list(BOB)
        await asyncio.to_thread(store.move, BOB, "INBOX", [stored.id], "Archive")
        assert archive.changed() or await archive.wait(timeout=30)
        assert await inbox.wait(timeout=30)
        store.set_flags(BOB, store.list(BOB, "Archive")[0].id, {Flag.SEEN}, "Archive")
        assert await archive.wait(timeout=30)
    assert store.events._watches == {}


def test_deliveries_racing_moves_lose_and_duplicate_nothing(tmp_path: Path) -> None:
    store = MaildirMailboxes(tmp_path)
    store.create_folder(BOB, "Archive")
    done = threading.Event()
    problems: list[str] = []

    def deliver(writer: int) -> None:
        for n in range(30):
            store.deliver(BOB, message(f"{writer}-{n}"))

    def mover(source: str, target: str) -> None:
        while not done.is_set():
            batch = [m.id for m in store.list(BOB, source)[:5]]
            try:
                pairs = store.move(BOB, source, batch, target)
            except Exception as error:
                problems.append(repr(error))
                return
            if len(pairs) > len(batch):
                problems.append(f"{len(pairs)} pairs for {len(batch)} ids")

    writers = [threading.Thread(target=deliver, args=(n,)) for n in range(3)]
    movers = [threading.Thread(target=mover, args=pair)
              for pair in (("INBOX", "Archive"), ("Archive", "INBOX"))]
    for thread in writers + movers:
        thread.start()
    for thread in writers:
        thread.join()
    done.set()
    for thread in movers:
        thread.join()
    assert problems == []
    subjects = sorted(store.read(BOB, m.id, folder) for folder in ("INBOX", "Archive")
                      for m in store.list(BOB, folder))
    assert subjects == sorted(message(f"{w}-{n}") for w in range(3) for n in range(30))
    for folder in ("INBOX", "Archive"):
        uids = [m.uid for m in store.list(BOB, folder)]
        assert len(set(uids)) == len(uids)
        assert store.uid_next(BOB, folder) > max(uids, default=0)
