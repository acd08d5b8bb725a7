"""Run one measurement in a child process, so that a crash or a memory high-water mark stays there.

Where the platform can fork, the child is a fork of this process: nothing is imported again and the
engines are already loaded. Elsewhere it is spawned, and the function and its arguments are pickled.
"""

from __future__ import annotations

import multiprocessing
import signal
import sys
from typing import Any, Callable


class ChildFailed(RuntimeError):
    """The child raised, crashed or took too long; the message says which."""


def _child(conn: Any, func: Callable[..., Any], args: tuple[Any, ...]) -> None:
    try:
        result = func(*args)
    except BaseException as exc:  # report anything to the parent rather than die silently
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
    else:
        conn.send(("ok", result))
    finally:
        conn.close()


def run_in_child(func: Callable[..., Any], *args: Any, timeout: float = 1800.0) -> Any:
    """``func(*args)`` in a fresh child process; its return value must be picklable."""
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    receive, send = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(send, func, args))
    # A forked child inherits unwritten output and writes it again when it exits: flush it first.
    sys.stdout.flush()
    sys.stderr.flush()
    process.start()
    send.close()
    try:
        if not receive.poll(timeout):
            raise ChildFailed(f"took longer than {timeout:.0f} s")
        status, payload = receive.recv()
    except EOFError:
        process.join()
        code = process.exitcode
        if code is not None and code < 0:
            raise ChildFailed(f"crashed ({signal.Signals(-code).name})") from None
        raise ChildFailed(f"exited with status {code} without a result") from None
    finally:
        if process.is_alive():
            process.join(timeout=60)
        if process.is_alive():
            process.kill()
            process.join()
    if status != "ok":
        raise ChildFailed(payload)
    return payload
