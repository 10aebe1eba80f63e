"""What systemd does for mtastsd.service, without systemd as PID 1: hold the sockets and
(re)start the daemon on them. Exec'd by `systemd-socket-activate -l ADDR --fdname=socketmap`,
which made the listening socket (fd 3, LISTEN_FDS=1, LISTEN_FDNAMES=socketmap); optionally
adds a unix datagram socket (fd 4, name tlsrpt) as mtastsd-tlsrpt.socket would, and a
NOTIFY_SOCKET whose messages (READY=1, STOPPING=1, ...) it records.

Each daemon gets LISTEN_PID = its own pid (via `sh -c 'LISTEN_PID=$$ exec ...'`), the fds at
the same numbers, its stderr in DIR/mtastsd.N.log. Commands on stdin, one per line:
  restart   SIGTERM the daemon, wait for it (15 s bound), keep the sockets GAP seconds with
            nobody serving them, start a new one
  stop      SIGTERM the daemon, wait, exit
Events on stdout, one JSON object per line: {"event": "started"|"exited"|"notify", ...}.

  socket_holder.py --dir DIR [--dgram PATH] [--notify] [--gap S] -- MTASTSD ARGS...
"""
import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

SD_LISTEN_FDS_START = 3


def emit(**event):
    event["t"] = round(time.monotonic(), 3)
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--dgram", help="also hold a unix datagram socket bound to this path (name tlsrpt)")
    ap.add_argument("--notify", action="store_true", help="give the daemon a NOTIFY_SOCKET")
    ap.add_argument("--gap", type=float, default=0.5)
    ap.add_argument("command", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        ap.error("no daemon command")

    if os.environ.get("LISTEN_PID") != str(os.getpid()):
        sys.exit(f"socket_holder: LISTEN_PID={os.environ.get('LISTEN_PID')} is not my pid {os.getpid()}")
    fds = list(range(SD_LISTEN_FDS_START, SD_LISTEN_FDS_START + int(os.environ["LISTEN_FDS"])))
    names = os.environ.get("LISTEN_FDNAMES", "").split(":")
    if args.dgram:
        dgram = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        dgram.bind(args.dgram)
        os.chmod(args.dgram, 0o666)
        fd = dgram.detach()
        want = SD_LISTEN_FDS_START + len(fds)
        if fd != want:
            os.dup2(fd, want)
            os.close(fd)
        fds.append(want)
        names.append("tlsrpt")

    env = dict(os.environ)
    for key in ("LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES", "NOTIFY_SOCKET"):
        env.pop(key, None)
    env["LISTEN_FDS"] = str(len(fds))
    env["LISTEN_FDNAMES"] = ":".join(names)

    if args.notify:
        notify_path = os.path.join(args.dir, "notify.sock")
        notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        notify.bind(notify_path)
        env["NOTIFY_SOCKET"] = notify_path

        def read_notify():
            while True:
                try:
                    data, _ = notify.recvfrom(4096)
                except OSError:
                    return
                emit(event="notify", message=data.decode(errors="replace"))

        threading.Thread(target=read_notify, daemon=True).start()

    emit(event="holding", fds=fds, names=names)
    generation = 0
    proc = None

    def start():
        nonlocal proc, generation
        generation += 1
        log = open(os.path.join(args.dir, f"mtastsd.{generation}.log"), "w")
        # $$ of this sh is the daemon's pid after exec: LISTEN_PID must name the daemon.
        proc = subprocess.Popen(["/bin/sh", "-c", 'LISTEN_PID=$$; export LISTEN_PID; exec "$0" "$@"'] + command,
                                env=env, pass_fds=fds, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        log.close()
        emit(event="started", generation=generation, pid=proc.pid)

    def stop():
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        emit(event="exited", generation=generation, code=proc.returncode)

    start()
    for line in sys.stdin:
        cmd = line.strip()
        if cmd == "restart":
            stop()
            time.sleep(args.gap)  # the sockets are held; nobody serves them
            start()
        elif cmd == "stop":
            break
    stop()


if __name__ == "__main__":
    main()
