# The Maildir store on disk: Maildir++ layout, the UID sidecar, flags in file names,
# messages other tools drop in or change, and real mail readers (s-nail) reading it.
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from roles.mailserver.mailbox_store import MaildirMailboxes
from roles.mailserver.message_file_index import READ_CHUNK
from roles.mailserver.storage import Flag
from tests.peers.tools import require_tool

BOB = "bob@hamburger.edu"


def message(subject: str) -> bytes:
    return f"From: alice@crepes.fr\r\nSubject: {subject}\r\n\r\nhello\r\n".encode()


def test_maildir_plus_plus_layout(tmp_path: Path) -> None:
    store = MaildirMailboxes(tmp_path)
    message_id = store.deliver(BOB, b"Subject: x\r\n\r\nbody\r\n")
    root = tmp_path / BOB
    assert (root / "new" / message_id).read_bytes() == b"Subject: x\n\nbody\n"
    assert message_id.endswith(",S=17,W=20")
    assert list((root / "tmp").iterdir()) == []
    for folder in (".Sent", ".Junk", ".Trash"):
        assert {p.name for p in (root / folder).iterdir()} >= {
            "tmp", "new", "cur", "maildirfolder", "maillab-uidlist"}
    assert not (root / "maildirfolder").exists()
    validity = store.uid_validity(BOB)
    assert (root / "maillab-uidlist").read_text() == f"3 V{validity} N1\n"  # no reader yet
    assert [m.uid for m in store.list(BOB)] == [1]  # a reader's scan gives the UID, durably
    assert (root / "maillab-uidlist").read_text() == f"3 V{validity} N2\n1 :{message_id}\n"
    store.create_folder(BOB, "Work.Plans")
    assert (root / ".Work.Plans" / "maildirfolder").is_file()


def test_flags_live_in_the_file_name_and_keywords_survive(tmp_path: Path) -> None:
    store = MaildirMailboxes(tmp_path)
    message_id = store.deliver(BOB, message("flags"))
    store.set_flags(BOB, message_id, {Flag.SEEN, Flag.REPLIED})
    cur = tmp_path / BOB / "cur"
    assert [p.name for p in cur.iterdir()] == [f"{message_id}:2,RS"]
    os.rename(cur / f"{message_id}:2,RS", cur / f"{message_id}:2,RSa")  # a dovecot keyword
    store.set_flags(BOB, message_id, {Flag.FLAGGED}, how="add")
    assert [p.name for p in cur.iterdir()] == [f"{message_id}:2,FRSa"]
    assert store.list(BOB)[0].flags == {Flag.FLAGGED, Flag.REPLIED, Flag.SEEN}


def test_messages_dropped_in_by_another_tool_get_uids_at_first_sight(tmp_path: Path) -> None:
    store = MaildirMailboxes(tmp_path)
    ours = store.deliver(BOB, message("ours"))
    assert [m.uid for m in store.list(BOB)] == [1]  # seen by a reader: its UID is given
    new = tmp_path / BOB / "new"
    (new / "1700000000.M1P2.otherhost").write_bytes(b"Subject: foreign\n\nplain LF\n")
    (tmp_path / BOB / "cur" / "1700000001.M3P4.otherhost:2,S").write_bytes(b"Subject: seen\n\n")
    (new / ".hidden-not-a-message").write_bytes(b"x")
    listing = MaildirMailboxes(tmp_path).list(BOB)  # a restarted server sees the same
    assert [(m.id, m.uid) for m in listing] == [
        (ours, 1), ("1700000000.M1P2.otherhost", 2), ("1700000001.M3P4.otherhost", 3)]
    assert listing[1].size == len(b"Subject: foreign\r\n\r\nplain LF\r\n")
    assert listing[2].flags == {Flag.SEEN}
    assert store.read(BOB, "1700000000.M1P2.otherhost") == b"Subject: foreign\r\n\r\nplain LF\r\n"
    assert [(m.id, m.uid) for m in store.list(BOB)] == [(m.id, m.uid) for m in listing]


def test_a_damaged_sidecar_gets_a_new_uid_validity_and_loses_no_mail(tmp_path: Path) -> None:
    store = MaildirMailboxes(tmp_path)
    ids = [store.deliver(BOB, message(f"m{n}")) for n in range(2)]
    validity = store.uid_validity(BOB)
    (tmp_path / BOB / "maillab-uidlist").write_text("garbage\n")
    assert store.uid_validity(BOB) > validity
    assert [m.id for m in store.list(BOB)] == ids


def test_deleting_a_folder_removes_its_files(tmp_path: Path) -> None:
    store = MaildirMailboxes(tmp_path)
    store.create_folder(BOB, "Old")
    store.deliver(BOB, message("old"), folder="Old")
    store.delete_folder(BOB, "Old")
    assert sorted(p.name for p in (tmp_path / BOB).iterdir() if p.is_dir()) == [
        ".Junk", ".Sent", ".Trash", "cur", "new", "tmp"]


def s_nail(tmp_path: Path, mailbox: Path, commands: str, read_only: bool = True) -> str:
    """Run s-nail in batch mode on one Maildir; its output."""
    require_tool("s-nail")
    options = ["-R"] if read_only else []
    result = subprocess.run(
        ["s-nail", "-N", "-#", *options, "-f", f"maildir://{mailbox}"], input=commands.encode(),
        capture_output=True, timeout=30, env={"HOME": str(tmp_path), "PATH": os.environ["PATH"]},
    )
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout.decode()


def test_s_nail_reads_every_folder(tmp_path: Path) -> None:
    store = MaildirMailboxes(tmp_path / "mailboxes")
    store.deliver(BOB, message("first one"))
    store.deliver(BOB, message("second one"))
    store.deliver(BOB, message("junk one"), folder="Junk")
    store.create_folder(BOB, "Work.Plans")
    store.deliver(BOB, message("a plan"), folder="Work.Plans")
    root = tmp_path / "mailboxes" / BOB
    expected = {"INBOX": ["first one", "second one"], "Junk": ["junk one"],
                "Work.Plans": ["a plan"], "Sent": [], "Trash": []}
    assert set(store.folders(BOB)) == set(expected)
    for folder, subjects in expected.items():
        path = root if folder == "INBOX" else root / f".{folder}"
        headers = s_nail(tmp_path, path, "headers\n")
        assert [line.split()[-1] for line in headers.splitlines()] == [
            s.split()[-1] for s in subjects], headers


def test_what_s_nail_marks_read_is_seen_with_the_same_uid(tmp_path: Path) -> None:
    store = MaildirMailboxes(tmp_path / "mailboxes")
    first = store.deliver(BOB, message("read me"))
    second = store.deliver(BOB, message("not yet"))
    shown = s_nail(tmp_path, tmp_path / "mailboxes" / BOB, "print 1\n", read_only=False)
    assert "Subject: read me" in shown
    listing = store.list(BOB)
    assert [(m.id, m.uid) for m in listing] == [(first, 1), (second, 2)]
    assert listing[0].flags == {Flag.SEEN} and listing[1].flags == frozenset()


def test_batch_flag_changes_and_deletions_skip_what_is_gone(tmp_path: Path) -> None:
    store = MaildirMailboxes(tmp_path)
    ids = [store.deliver(BOB, message(f"batch {n}")) for n in range(4)]
    store.delete(BOB, ids[3])
    changed = store.change_flags(BOB, ids, {Flag.SEEN}, how="add")
    assert changed == {message_id: frozenset({Flag.SEEN}) for message_id in ids[:3]}
    assert store.delete_messages(BOB, [ids[0], ids[3], ids[1]]) == [ids[0], ids[1]]
    assert [(m.id, m.flags) for m in store.list(BOB)] == [(ids[2], frozenset({Flag.SEEN}))]


def test_a_message_renamed_behind_the_stores_back_is_still_found(tmp_path: Path) -> None:
    store = MaildirMailboxes(tmp_path)
    message_id = store.deliver(BOB, message("moved by mutt"))
    store.set_flags(BOB, message_id, {Flag.SEEN})  # the store now knows cur/<id>:2,S
    cur = tmp_path / BOB / "cur"
    os.rename(cur / f"{message_id}:2,S", cur / f"{message_id}:2,FS")  # another program
    assert store.read(BOB, message_id) == message("moved by mutt")
    assert store.set_flags(BOB, message_id, {Flag.TRASHED}, how="add") == {
        Flag.FLAGGED, Flag.SEEN, Flag.TRASHED}
    os.unlink(cur / f"{message_id}:2,FST")
    assert store.change_flags(BOB, [message_id], {Flag.SEEN}) == {}


def test_a_mailbox_removed_from_outside_is_made_again_on_delivery(tmp_path: Path) -> None:
    store = MaildirMailboxes(tmp_path)
    store.deliver(BOB, message("first"))
    shutil.rmtree(tmp_path / BOB)  # someone in a shell removes Bob's whole Maildir
    message_id = store.deliver(BOB, message("second"))
    assert [m.id for m in store.list(BOB)] == [message_id]
    assert store.folders(BOB) == ["INBOX", "Junk", "Sent", "Trash"]


def test_messages_around_the_read_chunk_size_come_back_whole(tmp_path: Path) -> None:
    store = MaildirMailboxes(tmp_path)
    sizes = (READ_CHUNK - 1, READ_CHUNK, READ_CHUNK + 1, 3 * READ_CHUNK + 5)  # on disk (LF)
    sent = {size: b"Subject: big\r\n\r\n" + b"x" * (size - 15) + b"\r\n" for size in sizes}
    ids = {size: store.deliver(BOB, message) for size, message in sent.items()}
    assert sorted(os.path.getsize(path) for path in (tmp_path / BOB / "new").iterdir()) == \
        list(sizes)
    found = store.read_many(BOB, ids.values())
    assert {size: found[ids[size]] for size in sizes} == sent
