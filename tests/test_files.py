"""Files a user cares about are written atomically: ``autograd._files.atomic_write`` and its users
(``nn.save``, ``chainrule train --save``, drawings, animations, plots).

A failed write (a full disk, a file-size limit, an interruption) must leave the previous file whole
and no temporary file behind; a target that is not a regular file (``/dev/full``, ``/dev/stdout``, a
named pipe) is written in place and never replaced.
"""

from __future__ import annotations

import errno
import os
import stat
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

import nn
from autograd import Value
from autograd import _files
from autograd._files import atomic_write

REPO = Path(__file__).parents[1]


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def small_model() -> nn.MLP:
    return nn.MLP(2, [3, 1], activation="tanh", seed=0)


# ---------------------------------------------------------------------------------------------------
# atomic_write itself
# ---------------------------------------------------------------------------------------------------
def test_writes_a_new_file_with_the_usual_permissions(tmp_path):
    target = tmp_path / "a.txt"
    assert atomic_write(target, "héllo\n") == target
    assert target.read_bytes() == "héllo\n".encode()
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask  # as open() would make it
    assert listing(tmp_path) == ["a.txt"]


def test_replaces_a_file_whole_and_keeps_its_permissions(tmp_path):
    target = tmp_path / "a.bin"
    target.write_bytes(b"old content")
    target.chmod(0o640)
    inode = target.stat().st_ino
    atomic_write(target, b"new")
    assert target.read_bytes() == b"new" and stat.S_IMODE(target.stat().st_mode) == 0o640
    assert target.stat().st_ino != inode  # a new file renamed over the old one, not the old one emptied
    assert listing(tmp_path) == ["a.bin"]


@pytest.mark.parametrize("failure", [OSError(errno.ENOSPC, "No space left on device"), KeyboardInterrupt()])
def test_a_failed_write_keeps_the_old_file_and_leaves_nothing(tmp_path, monkeypatch, failure):
    target = tmp_path / "model.json"
    target.write_text("the previous model")

    def fail(fd):  # noqa: ANN001
        raise failure

    monkeypatch.setattr(_files.os, "fsync", fail)
    with pytest.raises(type(failure)):
        atomic_write(target, "x" * 10_000)
    assert target.read_text() == "the previous model"
    assert listing(tmp_path) == ["model.json"]


def test_a_failed_rename_leaves_nothing(tmp_path, monkeypatch):
    target = tmp_path / "g.svg"
    target.write_text("old")

    def fail(src, dst):  # noqa: ANN001
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(_files.os, "replace", fail)
    with pytest.raises(OSError):
        atomic_write(target, "new")
    assert target.read_text() == "old" and listing(tmp_path) == ["g.svg"]


def test_a_directory_is_not_replaced(tmp_path):
    (tmp_path / "d").mkdir()
    with pytest.raises(OSError):
        atomic_write(tmp_path / "d", "x")
    assert (tmp_path / "d").is_dir() and listing(tmp_path) == ["d"]


def test_an_unwritable_folder_is_an_oserror_with_nothing_left():
    # /proc takes no new files, even for root
    with pytest.raises(OSError):
        atomic_write("/proc/chainrule-atomic-write-test.json", "x")
    assert not os.path.exists("/proc/chainrule-atomic-write-test.json")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only folder")
def test_a_read_only_folder_keeps_its_file(tmp_path):
    target = tmp_path / "model.json"
    target.write_text("old")
    tmp_path.chmod(0o555)
    try:
        with pytest.raises(PermissionError):
            atomic_write(target, "new")
    finally:
        tmp_path.chmod(0o755)
    assert target.read_text() == "old" and listing(tmp_path) == ["model.json"]


def test_a_long_file_name_gets_a_short_temporary_name(tmp_path):
    target = tmp_path / ("m" * 250 + ".json")  # 255 bytes: the longest name most file systems take
    atomic_write(target, "{}")
    assert target.read_text() == "{}" and listing(tmp_path) == [target.name]


def test_a_symbolic_link_stays_a_link_to_the_new_content(tmp_path):
    real = tmp_path / "real.json"
    real.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    atomic_write(link, "new")
    assert link.is_symlink() and real.read_text() == "new" and listing(tmp_path) == ["link.json", "real.json"]


def test_dev_full_is_written_in_place_and_stays_a_device():
    before = os.stat("/dev/full")
    with pytest.raises(OSError) as info:
        atomic_write("/dev/full", "x" * 100)
    assert info.value.errno == errno.ENOSPC
    after = os.stat("/dev/full")
    assert stat.S_ISCHR(after.st_mode) and after.st_rdev == before.st_rdev


def test_a_named_pipe_is_written_in_place(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    atomic_write(fifo, b"through the pipe")
    reader.join(10)
    assert received == [b"through the pipe"]
    assert stat.S_ISFIFO(fifo.stat().st_mode) and listing(tmp_path) == ["pipe"]


def test_data_must_be_bytes_or_text(tmp_path):
    with pytest.raises(TypeError, match="bytes or a str"):
        atomic_write(tmp_path / "x", 3.5)  # type: ignore[arg-type]
    assert listing(tmp_path) == []


# ---------------------------------------------------------------------------------------------------
# its users
# ---------------------------------------------------------------------------------------------------
def _run(code: str, *args: str, **kwargs) -> subprocess.CompletedProcess:  # noqa: ANN003
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args], capture_output=True, text=True, timeout=120, cwd=REPO, **kwargs
    )


def test_nn_save_against_a_file_size_limit_keeps_the_previous_model(tmp_path):
    # a real failed write: the process may not write files larger than 2,000 bytes (RLIMIT_FSIZE)
    target = tmp_path / "model.json"
    nn.save(small_model(), target)
    previous = target.read_bytes()
    assert len(previous) < 2_000
    code = """
        import resource, sys
        import nn
        resource.setrlimit(resource.RLIMIT_FSIZE, (2_000, 2_000))
        try:
            nn.save(nn.MLP(8, [16, 4], seed=1), sys.argv[1])   # about 5 KB
        except OSError as exc:
            print("refused:", exc.errno)
    """
    result = _run(code, str(target))
    assert result.returncode == 0 and result.stdout.strip() == f"refused: {errno.EFBIG}", result.stderr
    assert target.read_bytes() == previous and listing(tmp_path) == ["model.json"]
    assert nn.load(target).state_dict() == small_model().state_dict()


def test_nn_save_to_dev_stdout_writes_the_model_there():
    code = """
        import nn
        nn.save(nn.MLP(2, [3, 1], activation="tanh", seed=0), "/dev/stdout")
    """
    result = _run(code)
    assert result.returncode == 0, result.stderr
    assert '"format": "chainrule.nn.MLP"' in result.stdout
    assert os.path.islink("/dev/stdout")


@pytest.mark.parametrize("kind", ["model", "drawing", "animation", "plot"])
def test_every_saver_keeps_the_old_file_when_the_disk_is_full(tmp_path, monkeypatch, kind):
    x, w = Value(2.0, label="x"), Value(-3.0, label="w")
    y = (x * w).tanh()
    y.backward()
    if kind == "model":
        target, save = tmp_path / "m.json", lambda path: nn.save(small_model(), path)
    elif kind == "drawing":
        from autograd.viz import draw

        target, save = tmp_path / "g.svg", lambda path: draw(y).save(path)
    elif kind == "animation":
        from autograd.viz import animate

        target, save = tmp_path / "a.html", lambda path: animate(y).save(path)
    else:
        pytest.importorskip("matplotlib")
        history = nn.fit(small_model(), [[0.0, 1.0], [1.0, 0.0]], [0, 1], epochs=2, loss="hinge", progress=False)
        target, save = tmp_path / "curves.png", lambda path: nn.plot_history(history, path)
    save(target)
    good = target.read_bytes()
    target.write_bytes(b"the previous file")

    def full(fd):  # noqa: ANN001
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(_files.os, "fsync", full)
    with pytest.raises(OSError):
        save(target)
    assert target.read_bytes() == b"the previous file" and listing(tmp_path) == [target.name]
    monkeypatch.undo()
    save(target)
    assert target.read_bytes()[:20] == good[:20] and listing(tmp_path) == [target.name]


def test_plot_without_a_suffix_adds_png_as_matplotlib_does(tmp_path):
    pytest.importorskip("matplotlib")
    history = nn.fit(small_model(), [[0.0, 1.0], [1.0, 0.0]], [0, 1], epochs=2, loss="hinge", progress=False)
    nn.plot_history(history, tmp_path / "curves")
    assert listing(tmp_path) == ["curves.png"] and (tmp_path / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# Lines that match a way of writing but write nothing a user keeps: the probe of whether a path can be
# written (opened for appending, nothing written), the name of the fallback file a failed --save uses
# (written with atomic_write), and a docstring.
ALLOWED = ('with open(target, "ab"):', 'tempfile.mkstemp(prefix="chainrule-model-"', "``fig.savefig(path)``")


def test_no_other_module_writes_a_file_its_own_way():
    # every file a user keeps goes through atomic_write: a plain write, or a copy of the helper, in
    # autograd or nn would bring back the truncate-then-write this issue was about
    import re

    ways = re.compile(r"\.write_(text|bytes)\(|open\([^)]*[\"'][wa]b?[\"']|os\.fdopen\(|\.savefig\((?!buffer)|nbformat\.write\(|mkstemp\(")
    found = []
    for folder in ("autograd", "nn"):
        for path in sorted((REPO / folder).rglob("*.py")):
            if path.name == "_files.py":
                continue
            for number, line in enumerate(path.read_text().splitlines(), start=1):
                if ways.search(line) and not any(allowed in line for allowed in ALLOWED):
                    found.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    assert found == []
