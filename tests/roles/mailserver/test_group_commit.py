# GroupCommit (durable_files.py): concurrent submitters share one commit per batch, and
# nobody returns before a commit holding its item has finished (or failed).
from __future__ import annotations

import threading

import pytest

from roles.mailserver.durable_files import GroupCommit
from tests.conftest import wait_for


def test_items_submitted_during_a_commit_go_together_in_the_next_one() -> None:
    batches: list[list[int]] = []
    first_started, release_first = threading.Event(), threading.Event()

    def commit(items: list[int]) -> None:
        if not batches:
            first_started.set()
            release_first.wait(10)
        batches.append(items)

    group: GroupCommit[int] = GroupCommit(commit)
    returned: list[int] = []
    threads = [threading.Thread(target=lambda n=n: (group.submit(n), returned.append(n)))
               for n in range(4)]
    threads[0].start()
    assert first_started.wait(10)
    for thread in threads[1:]:
        thread.start()
    wait_for(lambda: len(group._pending) == 3,  # the three wait behind the first commit
             "three submitters waiting")
    assert returned == []
    release_first.set()
    for thread in threads:
        thread.join(10)
    assert len(batches) == 2 and batches[0] == [0] and sorted(batches[1]) == [1, 2, 3]
    assert sorted(returned) == [0, 1, 2, 3]


def test_a_failed_commit_raises_for_its_submitter_and_the_next_batch_runs() -> None:
    def commit(items: list[str]) -> None:
        if "bad" in items:
            raise OSError("disk full")

    group: GroupCommit[str] = GroupCommit(commit)
    with pytest.raises(OSError, match="disk full"):
        group.submit("bad")
    group.submit("good")  # a failure does not leave the group stuck
