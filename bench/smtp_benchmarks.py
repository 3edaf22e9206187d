# The mail-speed benchmarks: SMTP throughput over one and two hops, and delivery latency.
#
#   smtp-one-hop     smtp-source -s 20 -m N into receiver-mta's port 25, timed until N
#                    messages are in Bob's Maildir; baseline: the same into a private
#                    Postfix delivering to Maildir. Both throughput benchmarks also
#                    report the servers' CPU ms per message (cpu_time.py).
#   smtp-two-hops    our load client (AUTH on 587, 20 sessions) into sender-mta, which
#                    relays to receiver-mta; timed until N messages are in Bob's Maildir.
#                    Baseline: Postfix one hop with the same client; also Postfix two hops
#                    (a Postfix at sender-mta's address relaying to one delivering to
#                    Maildir, both at their defaults: connection cache, PIPELINING), so
#                    the same path is compared; ceilings: smtp-source and our load
#                    client into smtp-sink (no storage at all).
#   delivery-latency one message at a time, ms from MAIL FROM until its file is in new/
#                    (p50 and p99 per repetition): ours over two hops (587) and one hop
#                    (25), Postfix one hop (baseline) and two hops, same client.
# Every repetition starts the servers afresh on empty data folders.
from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

from bench import load_client
from bench.cpu_time import tree_cpu_seconds
from bench.our_lab import ALICE_LAN, OurLab, our_lab, wait_for_files
from bench.postfix import PostfixInstance, running_postfix
from bench.postfix_tools import (
    ALICE,
    BOB,
    BODY_SIZE,
    SMTP_SOURCE_SESSIONS,
    finish,
    running_smtp_sink,
    smtp_source,
)
from bench.registry import Context, Series, benchmark
from bench.requirements import POSTFIX_PROGRAMS
from labctl.model import INTERNET

RECEIVER = "receiver-mta"
SENDER = "sender-mta"
POSTFIX_PORT, SINK_PORT = 2626, 2727  # on receiver-mta's address (stopped meanwhile)
RUN_TIMEOUT = 600.0
THROUGHPUT_COUNTS = (200, 2000)  # messages per repetition: small, full
Sender = Callable[[], None]  # sends a benchmark's messages, returns once all are accepted


def _rate(label: str) -> Series:
    """A throughput series (msg/s)."""
    return Series(label, "msg/s", higher_is_better=True)


def _throughput(count: int, send: Sender, delivered: Path | None) -> float:
    """msg/s: `count` messages sent by `send()`, counted in `delivered` (new/) if given."""
    start = time.perf_counter()
    send()
    end = time.perf_counter() if delivered is None else wait_for_files(delivered, count,
                                                                      RUN_TIMEOUT)
    return count / (end - start)


def _smtp_source_into(server: tuple[str, int], count: int) -> Sender:
    def send() -> None:
        finish(smtp_source(server, count), RUN_TIMEOUT)
    return send


def _load_into(submission: load_client.Submission, count: int) -> Sender:
    def send() -> None:
        load_client.send_load(submission, count, SMTP_SOURCE_SESSIONS, BODY_SIZE)
    return send


def _baseline(context: Context, port: int) -> tuple[str, int]:
    """Where a baseline server listens: receiver-mta's address (ours are stopped then)."""
    return context.plan.address(RECEIVER, INTERNET), port


def _postfix(context: Context) -> AbstractContextManager[PostfixInstance]:
    """A private Postfix delivering Bob's mail into its Maildir, at the baseline address."""
    return running_postfix("mail.hamburger.edu", _baseline(context, POSTFIX_PORT),
                           domain=BOB.domain)


def _postfix_relaying_to(context: Context,
                         receiver: PostfixInstance) -> AbstractContextManager[PostfixInstance]:
    """A private Postfix at sender-mta's address relaying everything to `receiver`."""
    address = context.plan.address(SENDER, INTERNET)
    return running_postfix("mail.crepes.fr", (address, POSTFIX_PORT),
                           relay_to=receiver.listen, bind_address=address)


def _submission(context: Context, server: tuple[str, int],
                login: bool = False) -> load_client.Submission:
    """Alice's mail to Bob, sent from her user agent's address (with AUTH when `login`)."""
    return load_client.Submission(server, context.plan.address("sender-ua", ALICE_LAN),
                                  ALICE.address, BOB.address, ALICE if login else None)


def _to_sender_mta(context: Context, lab: OurLab) -> load_client.Submission:
    """Alice's user agent submitting to sender-mta's port 587 with AUTH."""
    return _submission(context, lab.smtp_address(SENDER, "submission", ALICE_LAN), login=True)


def _cpu_per_message(label: str) -> Series:
    """A CPU-cost series: ms of CPU (user + system, every server process) per message."""
    return Series(f"{label} CPU per message", "ms", higher_is_better=False,
                  baseline="postfix one hop CPU per message")


def _measured(count: int, send: Sender, new: Path, pids: list[int],
              rate: Series, cpu: Series) -> None:
    """Time `send` until `count` files are in `new`; record msg/s and CPU ms per message."""
    before = tree_cpu_seconds(pids)
    rate.values.append(_throughput(count, send, new))
    cpu.values.append((tree_cpu_seconds(pids) - before) * 1000 / count)


def _ours_vs_postfix(context: Context, repetition: int, roles: tuple[str, ...],
                     series: tuple[Series, Series, Series, Series],
                     ours_client: Callable[[OurLab], Sender], postfix_client: Sender) -> None:
    """One repetition of a throughput race: our servers `roles` (fresh), then Postfix; each
    timed until all messages are in Bob's Maildir. `series`: ours and Postfix's msg/s,
    then ours and Postfix's CPU per message."""
    count = context.pick(*THROUGHPUT_COUNTS)
    with our_lab(context.work / f"ours-{repetition}", context.plan, *roles) as lab:
        _measured(count, ours_client(lab), lab.maildir_new(RECEIVER, BOB.address),
                  lab.pids(*roles), series[0], series[2])
    with _postfix(context) as baseline:
        _measured(count, postfix_client, baseline.maildir("bob") / "new",
                  [baseline.master_pid()], series[1], series[3])


@benchmark("smtp-one-hop", "smtp-source -s 20 -d into port 25 until all are in the Maildir",
           baseline="postfix one hop", needs=tuple(POSTFIX_PROGRAMS))
def smtp_one_hop(context: Context) -> list[Series]:
    """receiver-mta vs Postfix, both fed by smtp-source."""
    count = context.pick(*THROUGHPUT_COUNTS)
    ours, postfix = _rate("ours one hop"), _rate("postfix one hop")
    ours_cpu, postfix_cpu = _cpu_per_message("ours one hop"), _cpu_per_message("postfix one hop")
    for repetition in range(context.repeat):
        _ours_vs_postfix(context, repetition, (RECEIVER,), (ours, postfix, ours_cpu, postfix_cpu),
                         lambda lab: _smtp_source_into(lab.smtp_address(RECEIVER), count),
                         _smtp_source_into(_baseline(context, POSTFIX_PORT), count))
    return [ours, postfix, ours_cpu, postfix_cpu]


@benchmark("smtp-two-hops", "submission with AUTH -> sender-mta -> receiver-mta -> Maildir",
           baseline="postfix one hop", needs=tuple(POSTFIX_PROGRAMS))
def smtp_two_hops(context: Context) -> list[Series]:
    """Both our servers in a row vs Postfix one hop, with smtp-sink as the ceiling."""
    count = context.pick(*THROUGHPUT_COUNTS)
    ours = _rate("ours two hops")
    postfix = _rate("postfix one hop")
    sink = _rate("ceiling: smtp-source -> smtp-sink")
    client_sink = _rate("ceiling: load client -> smtp-sink")
    sink_address = _baseline(context, SINK_PORT)
    ours_cpu, postfix_cpu = _cpu_per_message("ours two hops"), _cpu_per_message("postfix one hop")
    postfix_two = _rate("postfix two hops")
    postfix_two_cpu = _cpu_per_message("postfix two hops")
    for repetition in range(context.repeat):
        _ours_vs_postfix(context, repetition, (SENDER, RECEIVER),
                         (ours, postfix, ours_cpu, postfix_cpu),
                         lambda lab: _load_into(_to_sender_mta(context, lab), count),
                         _load_into(_submission(context, _baseline(context, POSTFIX_PORT)), count))
        with _postfix(context) as receiving, _postfix_relaying_to(context, receiving) as sending:
            _measured(count, _load_into(_submission(context, sending.listen), count),
                      receiving.maildir("bob") / "new",
                      [sending.master_pid(), receiving.master_pid()], postfix_two, postfix_two_cpu)
        with running_smtp_sink(sink_address):
            send = _smtp_source_into(sink_address, count)
            sink.values.append(_throughput(count, send, None))
            send = _load_into(_submission(context, sink_address), count)
            client_sink.values.append(_throughput(count, send, None))
    return [ours, postfix, postfix_two, sink, client_sink, ours_cpu, postfix_cpu,
            postfix_two_cpu]


def _latency(series: tuple[Series, Series], submission: load_client.Submission,
             count: int, new: Path) -> None:
    times = load_client.latencies(submission, count, BODY_SIZE, new)
    series[0].values.append(load_client.percentile(times, 0.5))
    series[1].values.append(load_client.percentile(times, 0.99))


def _latency_pair(label: str) -> tuple[Series, Series]:
    """p50 and p99 series of `label`, compared with Postfix's p50 and p99."""
    return (Series(f"{label} p50", "ms", higher_is_better=False),
            Series(f"{label} p99", "ms", higher_is_better=False, baseline="postfix one hop p99"))


@benchmark("delivery-latency", "one message at a time: MAIL FROM until its file is in new/",
           baseline="postfix one hop p50", needs=tuple(POSTFIX_PROGRAMS))
def delivery_latency(context: Context) -> list[Series]:
    """Submission-to-Maildir latency, ours (two hops, one hop) vs Postfix one hop."""
    count = context.pick(20, 300)
    two, one = _latency_pair("ours two hops"), _latency_pair("ours one hop")
    postfix, postfix_two = _latency_pair("postfix one hop"), _latency_pair("postfix two hops")
    for repetition in range(context.repeat):
        with our_lab(context.work / f"ours-{repetition}", context.plan, SENDER, RECEIVER) as lab:
            new = lab.maildir_new(RECEIVER, BOB.address)
            _latency(two, _to_sender_mta(context, lab), count, new)
            _latency(one, _submission(context, lab.smtp_address(RECEIVER)), count, new)
        with _postfix(context) as baseline:
            _latency(postfix, _submission(context, _baseline(context, POSTFIX_PORT)), count,
                     baseline.maildir("bob") / "new")
            with _postfix_relaying_to(context, baseline) as sending:
                _latency(postfix_two, _submission(context, sending.listen), count,
                         baseline.maildir("bob") / "new")
    return [*two, *one, *postfix, *postfix_two]
