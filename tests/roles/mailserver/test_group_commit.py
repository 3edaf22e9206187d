# GroupCommit (durable_files.py): concurrent submitters share one commit per batch, and
# nobody returns before a commit holding its item has finished (or failed).
from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from roles.mailserver.durable_files import GroupCommit


def wait_for(condition: Callable[[], bool]) -> None:
    """Poll `condition()` until it is true (fails after 10 s)."""
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, "condition not met within 10s"
        time.sleep(0.01)


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
    wait_for(lambda: len(group._pending) == 3)  # the three wait behind the first commit
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
