# Deliveries racing readers: threads and a second process deliver into one mailbox,
# another tool drops files into new/, while listing, reading, flag changes and
# deletion run. Nothing may be lost, and no UID may be given twice or change.
from __future__ import annotations

import random
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from roles.mailserver.mailbox_store import MaildirMailboxes
from roles.mailserver.storage import Flag

BOB = "bob@hamburger.edu"
PROJECT = Path(__file__).resolve().parents[3]
PER_WRITER = 40
DELIVER_IN_CHILD = """
import sys
from pathlib import Path
from roles.mailserver.mailbox_store import MaildirMailboxes
store = MaildirMailboxes(Path(sys.argv[1]))
for n in range(int(sys.argv[2])):
    print(store.deliver("bob@hamburger.edu", f"Subject: child {n}\\r\\n\\r\\nx\\r\\n".encode()))
"""


class Observed:
    """What the racing threads saw: delivered bodies, deleted ids, UID per id."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.delivered: dict[str, bytes] = {}
        self.deleted: set[str] = set()
        self.uid_of: dict[str, int] = {}
        self.problems: list[str] = []

    def saw(self, message_id: str, uid: int) -> None:
        with self.lock:
            if self.uid_of.setdefault(message_id, uid) != uid:
                self.problems.append(f"{message_id} changed UID {self.uid_of[message_id]}->{uid}")


def test_deliveries_race_listing_reading_flags_and_deletion(tmp_path: Path) -> None:
    store = MaildirMailboxes(tmp_path)
    store.list(BOB)  # the mailbox exists before the foreign writer drops files in
    seen = Observed()
    writers_done = threading.Event()

    def deliver(writer: int) -> None:
        for n in range(PER_WRITER):
            data = f"Subject: thread {writer} {n}\r\n\r\nbody\r\n".encode()
            message_id = store.deliver(BOB, data)
            with seen.lock:
                seen.delivered[message_id] = data

    def drop_in_like_another_tool() -> None:
        root = tmp_path / BOB
        for n in range(PER_WRITER):
            name = f"1700000000.M{n}P99.othertool"
            (root / "tmp" / name).write_bytes(f"Subject: foreign {n}\n\n".encode())
            (root / "tmp" / name).rename(root / "new" / name)
            with seen.lock:
                seen.delivered[name] = f"Subject: foreign {n}\r\n\r\n".encode()

    def read_flag_and_delete() -> None:
        rounds = 0
        while not writers_done.is_set() or rounds < 3:
            rounds += 1
            for stored in store.list(BOB):
                seen.saw(stored.id, stored.uid)
                choice = random.random()
                try:
                    if choice < 0.1:
                        with seen.lock:  # before deleting: the other reader may then miss it
                            seen.deleted.add(stored.id)
                        store.delete(BOB, stored.id)
                    elif choice < 0.4:
                        store.set_flags(BOB, stored.id, {Flag.SEEN}, how="add")
                    else:
                        data = store.read(BOB, stored.id)
                        with seen.lock:
                            expected = seen.delivered.get(stored.id)
                        if expected is not None and data != expected:
                            seen.problems.append(f"{stored.id} read back different bytes")
                except KeyError:
                    with seen.lock:
                        if stored.id not in seen.deleted:
                            seen.problems.append(f"{stored.id} vanished without a delete")

    child = subprocess.Popen([sys.executable, "-c", DELIVER_IN_CHILD, str(tmp_path),
                              str(PER_WRITER)], stdout=subprocess.PIPE, cwd=PROJECT)
    writers = [threading.Thread(target=deliver, args=(n,)) for n in range(4)]
    writers.append(threading.Thread(target=drop_in_like_another_tool))
    readers = [threading.Thread(target=read_flag_and_delete) for _ in range(2)]
    run_all(writers + readers, lambda: writers_done.set(), len(writers))
    out, _ = child.communicate(timeout=120)
    assert child.returncode == 0
    for n, message_id in enumerate(out.decode().split()):
        seen.delivered[message_id] = f"Subject: child {n}\r\n\r\nx\r\n".encode()

    final = store.list(BOB)
    for stored in final:
        seen.saw(stored.id, stored.uid)
    assert seen.problems == []
    assert len(seen.delivered) == 6 * PER_WRITER
    assert {m.id for m in final} == seen.delivered.keys() - seen.deleted
    assert len(set(seen.uid_of.values())) == len(seen.uid_of)  # no UID given twice
    assert all(store.read(BOB, m.id) == seen.delivered[m.id] for m in final)


def run_all(threads: list[threading.Thread], after_writers: Callable[[], None],
            writers: int) -> None:
    """Start every thread, call `after_writers` once the first `writers` ended, join all."""
    for thread in threads:
        thread.start()
    for thread in threads[:writers]:
        thread.join(120)
    after_writers()
    for thread in threads[writers:]:
        thread.join(120)
    assert not any(thread.is_alive() for thread in threads)


MOVE_IN_CHILD = """
import sys
from pathlib import Path
from roles.mailserver.mailbox_store import MaildirMailboxes
store = MaildirMailboxes(Path(sys.argv[1]))
folders = ["INBOX", "Archive"]
while True:
    for source, target in (folders, folders[::-1]):
        for stored in store.list("bob@hamburger.edu", source):
            store.move("bob@hamburger.edu", source, [stored.id], target)
            print("moved", flush=True)
"""


def test_a_move_killed_at_any_point_loses_no_message(tmp_path: Path) -> None:
    store = MaildirMailboxes(tmp_path)
    store.create_folder(BOB, "Archive")
    bodies = [f"Subject: crash {n}\r\n\r\nx\r\n".encode() for n in range(20)]
    for body in bodies:
        store.deliver(BOB, body)
    for kill_after in (1, 7, 23, 50):
        child = subprocess.Popen([sys.executable, "-c", MOVE_IN_CHILD, str(tmp_path)],
                                 stdout=subprocess.PIPE, cwd=PROJECT)
        assert child.stdout is not None
        for _ in range(kill_after):
            assert child.stdout.readline() == b"moved\n"
        child.kill()  # SIGKILL: somewhere inside a move, or between two
        child.wait()
        found = [store.read(BOB, m.id, folder) for folder in ("INBOX", "Archive")
                 for m in store.list(BOB, folder)]
        assert set(found) == set(bodies)  # a crash may leave a message twice, never zero
        for folder in ("INBOX", "Archive"):  # clean up duplicates for the next round
            for stored in store.list(BOB, folder):
                body = store.read(BOB, stored.id, folder)
                if found.count(body) > 1:
                    store.delete(BOB, stored.id, folder)
                    found.remove(body)
