# A student's program run by a role's agent (roles.student_program): its exit status,
# its output (cut in the middle when too long), its environment, and a program that
# hangs stopped with everything it started. And the local forwarder
# (roles.program_forwarder): bytes both ways as they come, the end of stream passed on,
# the connection opened from the role's own address, a server the role cannot reach
# refused at once.
from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from labctl.model import addressing
from labctl.model.program_targets import program_targets
from labctl.program_contract import MAX_OUTPUT_CHARS
from roles.program_forwarder import forwarded
from roles.student_program import run_command
from tests.conftest import TEST_INSTANCE


async def test_exit_status_output_and_environment(tmp_path: Path) -> None:
    (tmp_path / "prog.sh").write_text('echo "to $MAIL_SERVER"; echo oops >&2; exit 3\n')
    result = await run_command("sh prog.sh", tmp_path, {"MAIL_SERVER": "10.0.0.1:25"}, 10)
    assert (result.exit_status, result.timed_out) == (3, False)
    assert result.output.splitlines() == ["to 10.0.0.1:25", "oops"]
    assert result.environment == {"MAIL_SERVER": "10.0.0.1:25"}


async def test_a_hanging_program_and_its_children_are_stopped(tmp_path: Path) -> None:
    marker = tmp_path / "child.pid"
    command = f"sleep 300 & echo $! > {marker}; echo started; sleep 300"
    result = await run_command(command, tmp_path, {}, 0.5)
    assert (result.exit_status, result.timed_out) == (None, True)
    assert result.output.splitlines() == ["started", "maillab: stopped after 0.5s "
                                          "(the scenario's timeout)"]
    child = Path(f"/proc/{int(marker.read_text())}/stat")
    for _ in range(100):  # killed: gone, or a zombie until init reaps it
        if not child.exists() or child.read_text().rpartition(")")[2].split()[0] == "Z":
            break
        await asyncio.sleep(0.05)
    else:
        pytest.fail("the program's background child outlived it")


async def test_long_output_keeps_its_start_and_its_end(tmp_path: Path) -> None:
    lines = MAX_OUTPUT_CHARS // 5
    result = await run_command(f"seq 1 {lines}", tmp_path, {}, 10)
    shown = result.output.splitlines()
    assert shown[0] == "1" and shown[-1] == str(lines)
    assert any("bytes of output left out" in line for line in shown)
    assert len(result.output) < MAX_OUTPUT_CHARS + 100


async def test_a_command_that_cannot_run_says_so(tmp_path: Path) -> None:
    result = await run_command("./missing-program", tmp_path, {}, 10)
    assert result.exit_status == 127 and "missing-program" in result.output


async def _echo_server(host: str) -> tuple[asyncio.Server, list[str]]:
    peers: list[str] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peers.append(writer.get_extra_info("peername")[0])
        writer.write(b"220 hi\r\n" + await reader.read())  # everything, until end of stream
        await writer.drain()
        writer.close()

    return await asyncio.start_server(serve, host, 0), peers


async def test_the_local_forwarder_connects_from_the_roles_address() -> None:
    plan = addressing("local", instance=TEST_INSTANCE)
    targets = program_targets(plan, "sender-ua")
    server, peers = await _echo_server(targets["MAIL_SERVER"][0])
    port = server.sockets[0].getsockname()[1]
    mine = {"MAIL_SERVER": (targets["MAIL_SERVER"][0], port),
            "RECEIVER_MTA": targets["RECEIVER_MTA"]}
    async with server, forwarded(plan, "sender-ua", mine) as given:
        assert given["MAIL_SERVER"][0] == "127.0.0.1"
        reader, writer = await asyncio.open_connection(*given["MAIL_SERVER"])
        writer.write(b"HELO a\r\nMAIL FROM:<a@b>\r\n")  # sent without waiting
        writer.write_eof()
        assert await reader.read() == b"220 hi\r\nHELO a\r\nMAIL FROM:<a@b>\r\n"
        writer.close()
        assert peers == [plan.address("sender-ua", "alice-lan")]
        # Bob's server is on no network of Alice's PC: refused, as on compose
        reader, writer = await asyncio.open_connection(*given["RECEIVER_MTA"])
        with pytest.raises(ConnectionResetError):
            await reader.read()
        writer.close()
