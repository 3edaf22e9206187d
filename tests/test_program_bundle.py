# Packing a student's folder and unpacking it on the role: what is packed and skipped,
# and every hostile bundle refused before a file is written outside its folder.
from __future__ import annotations

import base64
import io
import tarfile
from pathlib import Path

import pytest

from labctl.program_bundle import BundleError, pack_folder, unpack_bundle
from labctl.program_contract import ProgramSpec


def _bundle(*members: tuple[tarfile.TarInfo, bytes]) -> str:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for info, data in members:
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return base64.b64encode(buffer.getvalue()).decode()


def _entry(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, link
    return info


def test_a_folder_travels_whole_but_for_caches_and_links(tmp_path: Path) -> None:
    source = tmp_path / "student"
    (source / "lib").mkdir(parents=True)
    (source / "client.py").write_text("print('hi')\n")
    (source / "lib" / "util.py").write_text("X = 1\n")
    (source / "__pycache__").mkdir()
    (source / "__pycache__" / "client.pyc").write_bytes(b"\0")
    (source / ".git").mkdir()
    (source / "link.py").symlink_to(source / "client.py")
    target = tmp_path / "copy"
    target.mkdir()
    unpack_bundle(pack_folder(source), target)
    found = sorted(p.relative_to(target).as_posix() for p in target.rglob("*"))
    assert found == ["client.py", "lib", "lib/util.py"]
    assert (target / "lib" / "util.py").read_text() == "X = 1\n"


def test_packing_names_a_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="is not a folder"):
        pack_folder(tmp_path / "nowhere")


@pytest.mark.parametrize(("entry", "why"), [
    (_entry("../escape.py"), "outside its folder"),
    (_entry("/etc/evil"), "outside its folder"),
    (_entry("a/../../b"), "outside its folder"),
    (_entry("link", tarfile.SYMTYPE, "/etc/passwd"), "neither a file nor a folder"),
    (_entry("hard", tarfile.LNKTYPE, "client.py"), "neither a file nor a folder"),
    (_entry("fifo", tarfile.FIFOTYPE), "neither a file nor a folder"),
])
def test_a_hostile_bundle_is_refused_before_anything_is_written(
        tmp_path: Path, entry: tarfile.TarInfo, why: str) -> None:
    target = tmp_path / "copy"
    target.mkdir()
    bundle = _bundle((_entry("client.py"), b"ok\n"), (entry, b"x"))
    with pytest.raises(BundleError, match=why):
        unpack_bundle(bundle, target)
    assert list(target.iterdir()) == []
    assert not (tmp_path / "escape.py").exists()


@pytest.mark.parametrize("bundle", ["", base64.b64encode(b"not a tar").decode(),
                                    base64.b64encode(b"\x1f\x8b\x08\x00broken").decode()])
def test_a_bundle_that_is_no_tar_gz_says_so(tmp_path: Path, bundle: str) -> None:
    with pytest.raises(BundleError, match=r"readable \.tar\.gz"):
        unpack_bundle(bundle, tmp_path)


@pytest.mark.parametrize(("command", "bundle", "why"), [
    ("", "", "the command is empty"),
    ("python3 a.py\nrm -rf /", "", "one line"),
    ("python3 a.py", "!!!", "must be base64"),
])
def test_the_contract_refuses_bad_programs_naming_the_field(command: str, bundle: str,
                                                            why: str) -> None:
    with pytest.raises(ValueError, match=why):
        ProgramSpec(command=command, bundle=bundle)


def test_a_folder_with_too_many_files_is_refused_naming_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("labctl.program_bundle.MAX_MEMBERS", 5)
    for n in range(6):
        (tmp_path / f"f{n}.txt").write_text("x")
    with pytest.raises(BundleError, match=f"{tmp_path} holds more than 5 files"):
        pack_folder(tmp_path)
