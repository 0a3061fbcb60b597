"""Start, stop and inspect one service's process group, with its pid file and log in `.stack/`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from stack.base import LOGS, ROOT, Service, StackError, port_open


def pid_of(svc: Service) -> int | None:
    """The pid of our running process for this service, if any."""
    try:
        pid = int(svc.pidfile.read_text())
        os.kill(pid, 0)
    except (FileNotFoundError, ValueError, ProcessLookupError):
        return None
    except PermissionError:
        return pid
    if _zombie(pid):
        return None  # dead, not yet reaped by its parent
    cmdline = Path(f"/proc/{pid}/cmdline")
    text = cmdline.read_bytes().decode(errors="replace") if cmdline.exists() else ""
    if text and svc.command[0] not in text and not (svc.marker and svc.marker in text):
        return None  # pid reused by another program
    return pid


def _zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[:1] == ["Z"]


def tail(path: Path, lines: int = 40) -> str:
    if not path.exists():
        return "(no log)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def start(svc: Service) -> bool:
    """Start one service unless ours is already running; True when this call started it."""
    if pid_of(svc) is not None:
        if not _wait_healthy(svc, started=False):
            raise StackError(f"{svc.name} is running (pid {pid_of(svc)}) but not healthy")
        print(f"  {svc.name:<12} already running   {svc.url}")
        return False
    if svc.port and port_open(svc.port):
        raise StackError(
            f"port {svc.port} for {svc.name} is already in use by a process this project did not "
            f"start; stop it or point the RETRAIN_* setting for {svc.name} at another port"
        )
    if svc.before_start:
        svc.before_start()
    LOGS.mkdir(parents=True, exist_ok=True)
    pid = _spawn_detached(svc)
    svc.pidfile.write_text(str(pid))
    t0 = time.monotonic()
    _wait_healthy(svc, started=True)
    if svc.after_start:
        svc.after_start()
    print(f"  {svc.name:<12} started in {time.monotonic() - t0:4.1f}s  {svc.url}")
    return True


# Runs in a short-lived Python started by `_spawn_detached`: it forks the service, which leads a
# session of its own (its pgid is its pid), drops to `user` if one is named, reports its pid on
# the pipe and execs it; the launcher then exits, so the service is reparented to init.
_LAUNCHER = """
import os, pwd, sys
fd, user, cwd, argv = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4:]
pid = os.fork()
if pid == 0:
    os.close(fd)
    os.setsid()
    if user:
        account = pwd.getpwnam(user)
        os.setgroups([])
        os.setgid(account.pw_gid)
        os.setuid(account.pw_uid)
    os.chdir(cwd)
    os.execvp(argv[0], argv)
os.write(fd, str(pid).encode())
os._exit(0)
"""


def _spawn_detached(svc: Service) -> int:
    """Start the service so that it is not our child, and return its pid.

    A service that is our child turns into a zombie when it is killed (by a test, or a crash)
    until we wait for it, and PostgreSQL then refuses to start again ("lock file
    postmaster.pid already exists": the dead pid still answers `kill -0`). Detached, init
    reaps it the moment it dies, whoever started it.
    """
    read_end, write_end = os.pipe()
    try:
        with svc.logfile.open("ab") as log:
            launcher = subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    _LAUNCHER,
                    str(write_end),
                    svc.user or "",
                    "/" if svc.user else str(ROOT),
                    *svc.command,
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, **svc.env},
                pass_fds=(write_end,),
            )
        os.close(write_end)
        write_end = -1
        with os.fdopen(read_end, "rb") as pipe:
            read_end = -1
            reported = pipe.read().decode()
        launcher.wait()
    finally:
        for fd in (read_end, write_end):
            if fd >= 0:
                os.close(fd)
    if launcher.returncode != 0 or not reported.isdigit():
        raise StackError(
            f"{svc.name} could not be started (launcher exit {launcher.returncode}); "
            f"log tail:\n{tail(svc.logfile)}"
        )
    return int(reported)


def _wait_healthy(svc: Service, started: bool) -> bool:
    deadline = time.monotonic() + (svc.timeout if started else 30)
    while time.monotonic() < deadline:
        if svc.healthy():
            return True
        if started and pid_of(svc) is None:
            raise StackError(f"{svc.name} exited during start; log tail:\n{tail(svc.logfile)}")
        time.sleep(0.5)
    if started:
        stop(svc)
        raise StackError(
            f"{svc.name} not healthy after {svc.timeout:.0f}s; log tail ({svc.logfile}):\n"
            f"{tail(svc.logfile)}"
        )
    return False


def stop(svc: Service) -> bool:
    """Stop our process group for this service (SIGTERM, then SIGKILL after 20 s); True when
    something was stopped. `before_stop` runs first, while the service still answers."""
    pid = pid_of(svc)
    if pid is None:
        svc.pidfile.unlink(missing_ok=True)
        return False
    if svc.before_stop:
        svc.before_stop()
    for sig, wait in ((signal.SIGTERM, 20.0), (signal.SIGKILL, 5.0)):
        if not _signal_group(pid, sig, wait):
            break
    svc.pidfile.unlink(missing_ok=True)
    return True


def kill(svc: Service) -> bool:
    """SIGKILL the service's process group, as a crash would (no hook runs); True if it ran."""
    pid = pid_of(svc)
    if pid is None:
        return False
    _signal_group(pid, signal.SIGKILL, 5.0)
    svc.pidfile.unlink(missing_ok=True)
    return True


def _signal_group(pgid: int, sig: int, wait: float) -> bool:
    """Send `sig` to the group and wait up to `wait` s; True while the group is still alive."""
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline and _group_alive(pgid):
        time.sleep(0.2)
    return _group_alive(pgid)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True
