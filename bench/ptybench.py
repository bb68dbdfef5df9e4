#!/usr/bin/env python3
"""ptybench: measures one interactive remote-shell client the way a person
uses it, through a real pseudo-terminal. bench/run runs it for porthole and
for OpenSSH in the same run and prints the ratios.

  ptybench.py --name NAME [--quick] -- CLIENT ARGV...        (interactive client)
  ptybench.py --name NAME --command-rtt [--quick] -- ARGV... (runs ARGV N times)
  ptybench.py --name NAME --bulk-only [--quick] -- CLIENT ARGV... (bulk output alone)

Prints one JSON object with the figures on stdout.
"""
import argparse
import json
import os
import pty
import re
import select
import statistics
import struct
import fcntl
import termios
import time

PROMPT = re.compile(rb"[$#] $")
# Markers are typed in a form that differs from what the shell prints
# (PS1='bench''$ ' prints "bench$ ", $((6*7)) prints 42): the echo of a
# typed line arrives in pieces, and a line typed ahead is echoed twice (by
# the terminal, then by readline), so a marker that the echo also contains
# can match before the command has run.
SET_PS1 = b"PS1='bench''$ '"
BENCH_PROMPT = re.compile(rb"bench\$ $")


class Pty:
    def __init__(self, argv):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.execvp(argv[0], argv)
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        self.buf = b""

    def read_until(self, rx, timeout=30):
        deadline = time.monotonic() + timeout
        while True:
            m = rx.search(self.buf)
            if m:
                self.buf = self.buf[m.end():]
                return m
            left = deadline - time.monotonic()
            if left <= 0:
                raise SystemExit(f"ptybench: timed out waiting for {rx.pattern!r}: "
                                 f"{self.buf[-300:]!r}")
            r, _, _ = select.select([self.fd], [], [], left)
            if r:
                chunk = os.read(self.fd, 1 << 16)
                if not chunk:
                    raise SystemExit("ptybench: the client exited")
                self.buf += chunk

    def write(self, data):
        view = memoryview(data)
        while view:
            n = os.write(self.fd, view)
            view = view[n:]

    def close(self):
        try:
            os.kill(self.pid, 9)
            os.waitpid(self.pid, 0)
        except OSError:
            pass
        os.close(self.fd)


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p / 100))]


def session_start(argv, runs):
    times = []
    for _ in range(runs):
        t0 = time.monotonic()
        s = Pty(argv)
        s.read_until(PROMPT)
        times.append(time.monotonic() - t0)
        s.close()
    return statistics.median(times)


def open_shell(argv):
    s = Pty(argv)
    s.read_until(PROMPT)
    s.write(SET_PS1 + b"\r")
    s.read_until(BENCH_PROMPT)
    return s


def keystroke_echo(s, samples):
    """A raw-mode reader that echoes each byte (head -c N | cat, unbuffered
    through dd) returns what is typed; ends by itself after N bytes."""
    s.write(b"stty raw -echo; echo RAW-$((6*7)); dd bs=1 count=%d status=none; stty sane\r"
            % samples)
    s.read_until(re.compile(rb"RAW-42"))  # raw from here on
    s.buf = b""
    lat = []
    for i in range(samples):
        b = bytes([ord("a") + i % 26])
        t0 = time.perf_counter()
        s.write(b)
        while b not in s.buf:
            select.select([s.fd], [], [], 5)
            s.buf += os.read(s.fd, 4096)
        lat.append(time.perf_counter() - t0)
        s.buf = s.buf[s.buf.index(b) + 1:]
    return lat


def bulk(s, nbytes):
    s.write(b"stty sane; " + SET_PS1 + b"\r")
    s.read_until(BENCH_PROMPT)
    # 'x' is typed as \170 and the end marker as $((6*7)), so the echo of the
    # command line (wrapped when long, twice when typed ahead) holds
    # neither: the clock starts at the first 'x' and stops at END-42
    s.write(b"head -c %d /dev/zero | tr '\\0' '\\170'; echo; echo END-$((6*7))\r" % nbytes)
    s.buf = b""
    t0 = None
    got = 0
    tail = b""
    while True:
        r, _, _ = select.select([s.fd], [], [], 60)
        if not r:
            raise SystemExit("ptybench: bulk output stalled")
        chunk = os.read(s.fd, 1 << 16)
        if t0 is None:
            i = chunk.find(b"x")
            if i < 0:
                continue
            t0 = time.monotonic()
            chunk = chunk[i:]
        got += len(chunk)
        tail = (tail + chunk)[-64:]
        if b"END-42" in tail:
            break
    dt = time.monotonic() - t0
    s.buf = b""
    return got / dt / 1e6


def paste(s, nbytes):
    s.write(SET_PS1 + b"\r")
    s.read_until(BENCH_PROMPT)
    s.write(b"stty raw -echo; echo RAW-$((6*7)); head -c %d | wc -c; stty sane\r" % nbytes)
    s.read_until(re.compile(rb"RAW-42"))  # raw from here on
    data = b"p" * nbytes
    t0 = time.monotonic()
    s.write(data)
    s.read_until(re.compile(rb"%d" % nbytes), timeout=120)
    return time.monotonic() - t0


def command_rtt(argv, runs):
    import subprocess
    times = []
    for _ in range(runs):
        t0 = time.monotonic()
        subprocess.run(argv, check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        times.append(time.monotonic() - t0)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--name", required=True)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--command-rtt", action="store_true")
    ap.add_argument("--bulk-only", action="store_true")
    ap.add_argument("argv", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    argv = a.argv[1:] if a.argv and a.argv[0] == "--" else a.argv
    q = a.quick
    out = {"name": a.name}
    if a.command_rtt:
        out["command_rtt_s"] = command_rtt(argv, 3 if q else 20)
    elif a.bulk_only:
        s = open_shell(argv)
        out["bulk_mb_s"] = bulk(s, (8 if q else 256) * 1024 * 1024)
        s.close()
    else:
        out["session_start_s"] = session_start(argv, 1 if q else 10)
        s = open_shell(argv)
        lat = keystroke_echo(s, 50 if q else 2000)
        out["echo_p50_ms"] = pct(lat, 50) * 1e3
        out["echo_p99_ms"] = pct(lat, 99) * 1e3
        out["bulk_mb_s"] = bulk(s, (8 if q else 256) * 1024 * 1024)
        out["paste_1mib_s"] = paste(s, 1024 * 1024)
        s.close()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
