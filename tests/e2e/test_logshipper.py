"""porthole-logshipper: PutLogEvents validation and de-duplication, a logshipper
that does not create log groups, the logs verbs served by the controller, and a
session's transcript (HelloReply logshippers, Terminating until TranscriptComplete)."""
import os
import re
import signal
import socket
import subprocess
import time

from phtest import BUILD, StackTest, main, wait_until

LOGSHIPPER = os.path.join(BUILD, "porthole-logshipper")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class LogshipperTest(StackTest):

    def put(self, *args, key_file=None, endpoint=None, server_key=None):
        """Ships one batch with the agent's key; returns (exit code, answer line)."""
        d = self.stack.dir
        endpoint = endpoint or self.read(os.path.join(d, "logshipper_endpoint"))
        server_key = server_key or self.read(os.path.join(d, "logshipper_key"))
        key_file = key_file or os.path.join(d, "agents", "1", "agent.key")
        p = subprocess.run([LOGSHIPPER, "put-log-events", "--endpoint", endpoint,
                            "--server-key", server_key, "--key-file", key_file, *args],
                           capture_output=True, text=True, timeout=30)
        return p.returncode, p.stdout.strip()

    @staticmethod
    def read(path):
        with open(path) as f:
            return f.read().strip()

    def logs(self, *args):
        return self.stack.cli_json("logs", *args)

    def logs_ok(self, *args):
        """A logs verb that prints nothing (create, delete, put-retention-policy)."""
        p = self.stack.cli("logs", *args)
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_batch_acknowledged_once(self):
        now = int(time.time() * 1000)
        ev = ["--event", f"{now}:hello", "--event", f"{now + 1}:world"]
        rc, out = self.put("--log-group", "dup", "--log-stream", "s", "--batch-id", "b-dup", *ev)
        self.assertEqual((rc, out), (0, "reply b-dup 2 0"))
        rc, out = self.put("--log-group", "dup", "--log-stream", "s", "--batch-id", "b-dup", *ev)
        self.assertEqual((rc, out), (0, "reply b-dup 0 1"))
        self.assertEqual(self.stack.redis("XLEN", "ph:logs:{dup}:s"), "2")
        self.assertEqual(self.stack.redis("HGET", "ph:loggroup:{dup}", "auto"), "1")

    def test_bad_batches_refused(self):
        now = int(time.time() * 1000)
        rc, out = self.put("--log-group", "bad", "--log-stream", "s", "--generate", "10001")
        self.assertEqual(rc, 70)
        self.assertRegex(out, r"^error InvalidRequest .*10001 events \(max 10000\)")
        rc, out = self.put("--log-group", "bad", "--log-stream", "s",
                           "--event", f"{now + 5}:a", "--event", f"{now}:b")
        self.assertRegex(out, r"^error InvalidRequest .*timestamp order")
        rc, out = self.put("--log-group", "bad group", "--log-stream", "s", "--generate", "1")
        self.assertRegex(out, r"^error InvalidRequest .*names must be")
        # a batch may not go back before the stream's last event
        self.assertEqual(self.put("--log-group", "bad", "--log-stream", "s",
                                  "--event", f"{now}:x")[1].split()[:1], ["reply"])
        rc, out = self.put("--log-group", "bad", "--log-stream", "s", "--event", f"{now - 1}:y")
        self.assertRegex(out, r"^error InvalidRequest .*before the last event")
        self.assertEqual(self.stack.redis("XLEN", "ph:logs:{bad}:s"), "1")
        # only instances ship logs
        rc, out = self.put("--log-group", "bad", "--log-stream", "s", "--generate", "1",
                           key_file=self.stack.admin_key_file())
        self.assertEqual(rc, 77)
        self.assertRegex(out, r"^error AccessDenied ")

    def test_no_auto_create(self):
        d = self.stack.dir
        key = os.path.join(d, "logshipper2.key")
        pub = subprocess.run([LOGSHIPPER, "keygen", key], capture_output=True, text=True,
                             check=True).stdout.strip().splitlines()[-1]
        port = free_port()
        log = open(os.path.join(d, "logs", "logshipper2.log"), "w")
        p = subprocess.Popen([LOGSHIPPER, "run", "--redis", self.stack.env["PORTHOLE_REDIS_URL"],
                              "--key-file", key, "--bind", f"tcp://127.0.0.1:{port}",
                              "--auto-create-log-groups", "false"], stdout=log, stderr=log)
        try:
            ep = f"tcp://127.0.0.1:{port}"
            wait_until(lambda: self.stack.redis("SCARD", "ph:logshippers") == "2", 10,
                       "the second logshipper registered")
            rc, out = self.put("--log-group", "nocreate", "--log-stream", "s", "--generate", "1",
                               endpoint=ep, server_key=pub)
            self.assertEqual(rc, 70)
            self.assertRegex(out, r"^error ResourceNotFound .*create-log-group nocreate")
            self.logs_ok("create-log-group", "nocreate")
            rc, out = self.put("--log-group", "nocreate", "--log-stream", "s", "--generate", "3",
                               endpoint=ep, server_key=pub)
            self.assertRegex(out, r"^reply \S+ 3 0$")
        finally:
            p.send_signal(signal.SIGTERM)
            p.wait(timeout=10)
            log.close()
        self.assertEqual(self.stack.redis("SCARD", "ph:logshippers"), "1")

    def test_logs_verbs(self):
        self.logs_ok("create-log-group", "app/one", "--retention-in-days", "7")
        p = self.stack.cli("logs", "create-log-group", "app/one")
        self.assertNotEqual(p.returncode, 0)
        self.assertIn(b"already exists", p.stderr)
        groups = self.logs("describe-log-groups", "--log-group-name-prefix", "app/")["logGroups"]
        self.assertEqual([g["logGroupName"] for g in groups], ["app/one"])
        self.assertEqual(groups[0]["retentionInDays"], 7)
        self.logs_ok("put-retention-policy", "--log-group-name", "app/one",
                  "--retention-in-days", "30")
        groups = self.logs("describe-log-groups", "--log-group-name-prefix", "app/")["logGroups"]
        self.assertEqual(groups[0]["retentionInDays"], 30)
        t0 = int(time.time() * 1000) - 10000
        evs = []
        for i, m in enumerate(["GET /index 200", "POST /login 500 server error",
                               "GET /health 200"]):
            evs += ["--event", f"{t0 + i}:{m}"]
        self.assertEqual(self.put("--log-group", "app/one", "--log-stream", "web", *evs)[0], 0)
        self.assertEqual(self.put("--log-group", "app/one", "--log-stream", "db",
                                  "--event", f"{t0 + 100}:slow query 500 ms")[0], 0)
        streams = self.logs("describe-log-streams", "--log-group-name", "app/one",
                            "--order-by", "LastEventTime", "--descending")["logStreams"]
        self.assertEqual([s["logStreamName"] for s in streams], ["db", "web"])
        self.assertEqual(streams[1]["firstEventTimestamp"], t0)
        self.assertEqual(streams[1]["lastEventTimestamp"], t0 + 2)
        # paging forward one event at a time
        r = self.logs("get-log-events", "--log-group-name", "app/one", "--log-stream-name", "web",
                      "--start-from-head", "--limit", "2")
        self.assertEqual([e["message"] for e in r["events"]],
                         ["GET /index 200", "POST /login 500 server error"])
        r2 = self.logs("get-log-events", "--log-group-name", "app/one", "--log-stream-name",
                       "web", "--next-token", r["nextForwardToken"], "--limit", "2")
        self.assertEqual([e["message"] for e in r2["events"]], ["GET /health 200"])
        r3 = self.logs("get-log-events", "--log-group-name", "app/one", "--log-stream-name",
                       "web", "--next-token", r2["nextForwardToken"])
        self.assertEqual(r3["events"], [])
        self.assertEqual(r3["nextForwardToken"], r2["nextForwardToken"])
        # from the tail: the newest events, oldest first
        r = self.logs("get-log-events", "--log-group-name", "app/one", "--log-stream-name", "web",
                      "--limit", "1")
        self.assertEqual([e["message"] for e in r["events"]], ["GET /health 200"])
        r = self.logs("get-log-events", "--log-group-name", "app/one", "--log-stream-name", "web",
                      "--start-time", str(t0 + 1), "--end-time", str(t0 + 2))
        self.assertEqual([e["message"] for e in r["events"]], ["POST /login 500 server error"])
        # filters: terms are substrings, a quoted phrase is one term
        r = self.logs("filter-log-events", "--log-group-name", "app/one", "--filter-pattern",
                      "500")
        self.assertEqual(sorted(e["logStreamName"] for e in r["events"]), ["db", "web"])
        r = self.logs("filter-log-events", "--log-group-name", "app/one", "--filter-pattern",
                      '"server error" POST')
        self.assertEqual([e["message"] for e in r["events"]], ["POST /login 500 server error"])
        r = self.logs("filter-log-events", "--log-group-name", "app/one", "--log-stream-names",
                      "web", "--filter-pattern", "GET")
        self.assertEqual(len(r["events"]), 2)
        self.logs_ok("delete-log-group", "app/one")
        p = self.stack.cli("logs", "describe-log-streams", "--log-group-name", "app/one")
        self.assertNotEqual(p.returncode, 0)
        self.assertIn(b"does not exist", p.stderr)
        self.assertEqual(self.stack.redis("EXISTS", "ph:logs:{app/one}:web"), "0")

    def test_session_transcript_then_terminated(self):
        s = self.shell()
        self.run_in(s, "echo transcript-marker-$((40+2))")
        s.send("exit\r")
        s.wait()
        sid = re.search(rb"Exiting session with sessionId: ([^\s.]+)", s.buf).group(1).decode()
        hist = wait_until(lambda: self.stack.session(sid, "History"), 20,
                          "the session in History")
        self.assertEqual(hist["Status"], "Terminated")
        r = self.logs("filter-log-events", "--log-group-name", "porthole/sessions",
                      "--log-stream-names", sid + ".txt", "--filter-pattern", '"transcript-marker-42"')
        self.assertTrue(r["events"], r)


if __name__ == "__main__":
    main()
