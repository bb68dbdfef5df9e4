"""e2e (issue 6): no agent or CLI is locked out by a refused or held handshake.

libzmq 4.3.4 never reconnects a DEALER whose CURVE handshake the server refused
(ZAP 400/500). Two sides of the fix:

- the controller never refuses a handshake because of Redis: one that arrives
  while Redis is down waits (ph_zap_hold) and succeeds once Redis is back;
- the agent (to its controller and to its logshipper) and the CLI replace a
  DEALER whose handshake failed. A stand-in server that refuses every
  handshake exactly as a ZAP refusal looks on the wire (ZMTP 3.0 greeting,
  then an ERROR command "400" in answer to the client's HELLO) provokes it.
"""
import json
import os
import signal
import socket
import subprocess
import threading

import phtest
from phtest import StackTest, wait_until

ZMTP_GREETING = (b"\xff" + b"\x00" * 8 + b"\x7f" + bytes([3, 0]) + b"CURVE".ljust(20, b"\x00")
                 + b"\x01" + b"\x00" * 31)  # ZMTP 3.0, mechanism CURVE, as-server
CURVE_HELLO_LEN = 2 + 200  # short command frame: flags, size, body


def zmtp_error(reason):
    body = bytes([5]) + b"ERROR" + bytes([len(reason)]) + reason
    return bytes([0x04, len(body)]) + body


class Refuser:
    """Listens on 127.0.0.1:port and refuses every CURVE handshake with ERROR 400."""

    def __init__(self, port):
        self.port = port
        self.count = 0
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(64)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return  # closed
            with conn:
                conn.settimeout(5)
                try:
                    conn.sendall(ZMTP_GREETING)
                    got = b""
                    while len(got) < len(ZMTP_GREETING) + CURVE_HELLO_LEN:
                        chunk = conn.recv(4096)
                        if not chunk:
                            break
                        got += chunk
                    conn.sendall(zmtp_error(b"400"))
                    self.count += 1
                    conn.recv(4096)  # until the client hangs up
                except OSError:
                    pass

    def close(self):
        self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        self.thread.join(10)


def port_of(endpoint):
    return int(endpoint.strip().rsplit(":", 1)[1])


def port_open(port):
    try:
        socket.create_connection(("127.0.0.1", port), 1).close()
        return True
    except OSError:
        return False


class RegisterTest(StackTest):
    controller_args = "--heartbeat-interval-ms 1000"

    def read(self, name):
        with open(os.path.join(self.stack.dir, name)) as f:
            return f.read().strip()

    def log(self, name):
        with open(os.path.join(self.stack.dir, "logs", name + ".log"), errors="replace") as f:
            return f.read()

    def online(self):
        return self.stack.ping_status(self.stack.instance_id) == "Online"

    def registered_after(self, mark):
        """True once the agent logged a registration after mark (a length of its log):
        right after a restart, PingStatus may still say Online from the last heartbeat
        (it counts as Online for three intervals), so it proves nothing."""
        return "registered with the controller" in self.log("agent-1")[mark:]

    def wait_registered(self, mark, timeout, what):
        wait_until(lambda: self.registered_after(mark), timeout, what)
        wait_until(self.online, 10, what + " (Online)")

    def restart_controller(self):
        self.stack.stop("controller")
        self.stack.start("controller")
        wait_until(lambda: port_open(port_of(self.read("agent_endpoint"))), 20,
                   "the controller's agents port")

    def test_handshake_waits_for_redis(self):
        """A handshake that arrives while the controller's Redis is down is held, not
        refused: once Redis is back the agent registers."""
        self.stack.stop("agent-1")
        self.restart_controller()  # an empty key cache: the handshake needs Redis
        self.stack.stop("redis")
        log_before = len(self.log("controller"))
        mark = len(self.log("agent-1"))
        self.stack.start("agent-1")
        wait_until(lambda: "handshakes wait for Redis" in self.log("controller")[log_before:],
                   20, "the controller holding the agent's handshake")
        self.assertNotIn("handshake refused", self.log("controller")[log_before:])
        self.stack.start("redis")
        self.wait_registered(mark, 30, "the agent registered once Redis is back")

    def test_refused_handshakes_are_retried(self):
        """After a refused handshake the agent and the CLI connect again with a new
        socket; once the real controller is back both are served."""
        agents_port = port_of(self.read("agent_endpoint"))
        clients_port = port_of(self.stack.env["PORTHOLE_ENDPOINT"])
        self.stack.stop("controller")
        mark = len(self.log("agent-1"))
        refusers = [Refuser(agents_port), Refuser(clients_port)]
        try:
            cli = subprocess.Popen(["porthole", "get-preferences", "--timeout", "60"],
                                   env=self.stack.env, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE)
            # libzmq alone would stop at one refused handshake per socket
            wait_until(lambda: refusers[0].count >= 2, 30, "the agent connecting again")
            wait_until(lambda: refusers[1].count >= 2, 30, "the CLI connecting again")
        finally:
            for r in refusers:
                r.close()
        self.stack.start("controller")
        out, err = cli.communicate(timeout=60)
        self.assertEqual(cli.returncode, 0, err)
        self.wait_registered(mark, 40, "the agent registered with the real controller")
        self.assertIn("retrying with a new connection", self.log("agent-1"))

    def test_refused_logshipper_handshakes_are_retried(self):
        """The agent's DEALER to a logshipper comes back after refused handshakes, and
        transcripts are shipped again."""
        port = port_of(self.read("logshipper_endpoint"))
        wait_until(self.online, 30, "the agent Online")
        # killed, so that its registration outlives it (30 s) and HelloReply keeps naming
        # it: the agent's DEALER stays and meets the stand-in
        os.kill(self.stack.pid("logshipper"), signal.SIGKILL)
        wait_until(lambda: not port_open(port), 10, "the logshipper gone")
        # nobody may reap it here (kill -0 then still succeeds): porthole-dev start
        # must not take it for running
        os.remove(os.path.join(self.stack.dir, "pids", "logshipper.pid"))
        refuser = Refuser(port)
        try:
            wait_until(lambda: refuser.count >= 2, 30, "the agent's shipper connecting again")
        finally:
            refuser.close()
        self.stack.start("logshipper")
        wait_until(lambda: port_open(port), 20, "the logshipper's port")
        p = self.stack.cli("start-session", "--target", self.stack.instance_id, "--command",
                           "echo shipped-marker-$((40+2))")
        self.assertEqual(p.returncode, 0, p.stderr)

        def shipped():  # the group appears with the first batch stored
            p = self.stack.cli("logs", "filter-log-events", "--log-group-name",
                               "porthole/sessions", "--filter-pattern", '"shipped-marker-42"',
                               "--output", "json")
            return p.returncode == 0 and json.loads(p.stdout)["events"]
        wait_until(shipped, 60, "the command's transcript at the logshipper")


if __name__ == "__main__":
    phtest.main()
