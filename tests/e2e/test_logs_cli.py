"""e2e: the `porthole logs` and `porthole session replay|export` verbs of the CLI.

Log groups (create, describe, retention, delete), get-log-events paging tokens,
filter-log-events terms and "quoted phrases", and a real interactive session's
recording: `session export` is a valid asciicast v2 file and `session replay
--speed 0` gives back the bytes the CLI printed. Events that are not a session's
are shipped the way an agent ships them: PutLogEvents to the logshipper with
the agent's key (porthole-logshipper put-log-events).
"""
import json
import os
import re
import subprocess
import time

from phtest import BUILD, StackTest, main, wait_until

LOGSHIPPER = os.path.join(BUILD, "porthole-logshipper")
USAGE, API = 64, 70


class LogsCliTest(StackTest):

    # -- helpers ------------------------------------------------------------
    def logs(self, *args):
        return self.stack.cli_json("logs", *args)

    def logs_ok(self, *args):
        """A verb that prints nothing on success (create, delete, put-retention-policy)."""
        p = self.stack.cli("logs", *args)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, b"")

    def put(self, group, stream, events):
        """Ships [(timestamp ms, message)] as one batch, with the agent's key."""
        d = self.stack.dir
        args = []
        for ts, msg in events:
            args += ["--event", f"{ts}:{msg}"]
        with open(os.path.join(d, "logshipper_endpoint")) as f:
            endpoint = f.read().strip()
        with open(os.path.join(d, "logshipper_key")) as f:
            server_key = f.read().strip()
        p = subprocess.run([LOGSHIPPER, "put-log-events", "--endpoint", endpoint,
                            "--server-key", server_key, "--key-file",
                            os.path.join(d, "agents", "1", "agent.key"), "--log-group", group,
                            "--log-stream", stream, *args],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

    def messages(self, reply):
        return [e["message"] for e in reply["events"]]

    # -- help and usage errors (no controller traffic) ------------------------
    def test_help_and_usage_errors(self):
        for group, verbs in (("logs", ["create-log-group", "delete-log-group",
                                       "describe-log-groups", "put-retention-policy",
                                       "describe-log-streams", "get-log-events",
                                       "filter-log-events", "tail"]),
                             ("session", ["replay", "export"])):
            p = self.stack.cli(group, "--help")
            self.assertEqual(p.returncode, 0)
            for verb in verbs:
                self.assertIn(verb.encode(), p.stdout)
                h = self.stack.cli(group, verb, "--help")
                self.assertEqual(h.returncode, 0, (group, verb))
                self.assertIn(b"Usage: porthole " + f"{group} {verb}".encode(), h.stdout)
                self.assertIn(b"Exit status", h.stdout)
        bad = [
            ("logs", "create-log-group", "bad name!"),
            ("logs", "create-log-group", "g", "--retention-in-days", "x"),
            ("logs", "put-retention-policy", "--log-group-name", "g"),
            ("logs", "get-log-events", "--log-group-name", "g"),
            ("logs", "get-log-events", "--log-group-name", "g", "--log-stream-name", "s",
             "--next-token", "zzz"),
            ("logs", "get-log-events", "--log-group-name", "g", "--log-stream-name", "s",
             "--limit", "0"),
            ("logs", "get-log-events", "--log-group-name", "g", "--log-stream-name", "s",
             "--start-time", "yesterday"),
            ("logs", "describe-log-streams", "--log-group-name", "g", "--order-by", "Size"),
            ("logs", "filter-log-events", "--log-group-name", "g", "--filter-pattern", '"open'),
            ("logs", "nope"),
            ("session", "replay", "not-a-session"),
            ("session", "replay", "alice-0a1b2c3d4e5f60718", "--speed", "fast"),
        ]
        for args in bad:
            p = self.stack.cli(*args)
            self.assertEqual(p.returncode, USAGE, (args, p.stderr))
            self.assertRegex(p.stderr, rb"^porthole: ", args)
            self.assertIn(b"--help", p.stderr)

    # -- log groups -----------------------------------------------------------
    def test_log_groups_and_retention(self):
        self.logs_ok("create-log-group", "lg/one", "--retention-in-days", "7")
        self.logs_ok("create-log-group", "--log-group-name", "lg/two")
        p = self.stack.cli("logs", "create-log-group", "lg/one")
        self.assertEqual(p.returncode, API, p.stderr)
        groups = self.logs("describe-log-groups", "--log-group-name-prefix", "lg/")["logGroups"]
        self.assertEqual([g["logGroupName"] for g in groups], ["lg/one", "lg/two"])
        one, two = groups
        self.assertEqual(one["retentionInDays"], 7)
        self.assertNotIn("retentionInDays", two)  # never expires, as aws logs shows it
        self.assertIsInstance(one["creationTime"], int)
        self.assertLess(abs(one["creationTime"] - time.time() * 1000), 120000)
        self.assertIsInstance(one["storedBytes"], int)
        self.logs_ok("put-retention-policy", "--log-group-name", "lg/two",
                     "--retention-in-days", "30")
        groups = self.logs("describe-log-groups", "--log-group-name-prefix", "lg/t")["logGroups"]
        self.assertEqual([(g["logGroupName"], g["retentionInDays"]) for g in groups],
                         [("lg/two", 30)])
        # table and text output
        p = self.stack.cli("logs", "describe-log-groups", "--log-group-name-prefix", "lg/",
                           "--output", "table")
        self.assertEqual(p.returncode, 0)
        self.assertRegex(p.stdout.decode(), r"LogGroupName\s+CreationTime\s+RetentionInDays")
        self.logs_ok("delete-log-group", "lg/one")
        self.logs_ok("delete-log-group", "lg/two")
        self.assertEqual(self.logs("describe-log-groups", "--log-group-name-prefix",
                                   "lg/")["logGroups"], [])
        p = self.stack.cli("logs", "delete-log-group", "lg/one")
        self.assertEqual(p.returncode, API)
        self.assertIn(b"lg/one", p.stderr)

    # -- get-log-events ------------------------------------------------------
    def test_get_log_events_paging(self):
        t0 = int(time.time() * 1000) - 60000
        self.put("cli/paging", "s", [(t0 + i, f"line {i:02d}") for i in range(25)])
        base = ["get-log-events", "--log-group-name", "cli/paging", "--log-stream-name", "s"]
        p1 = self.logs(*base, "--start-from-head", "--limit", "10")
        self.assertEqual(self.messages(p1), [f"line {i:02d}" for i in range(10)])
        self.assertEqual([e["timestamp"] for e in p1["events"]], [t0 + i for i in range(10)])
        self.assertTrue(all(isinstance(e["ingestionTime"], int) for e in p1["events"]))
        p2 = self.logs(*base, "--limit", "10", "--next-token", p1["nextForwardToken"])
        self.assertEqual(self.messages(p2), [f"line {i:02d}" for i in range(10, 20)])
        p3 = self.logs(*base, "--limit", "10", "--next-token", p2["nextForwardToken"])
        self.assertEqual(self.messages(p3), [f"line {i:02d}" for i in range(20, 25)])
        end = self.logs(*base, "--limit", "10", "--next-token", p3["nextForwardToken"])
        self.assertEqual(end["events"], [])
        self.assertEqual(end["nextForwardToken"], p3["nextForwardToken"])
        # backwards from the third page: the ten events before it
        back = self.logs(*base, "--limit", "10", "--next-token", p3["nextBackwardToken"])
        self.assertEqual(self.messages(back), [f"line {i:02d}" for i in range(10, 20)])
        # no token, not from the head: the newest events, oldest first
        tail = self.logs(*base, "--limit", "3")
        self.assertEqual(self.messages(tail), ["line 22", "line 23", "line 24"])
        # a time window [start, end)
        win = self.logs(*base, "--start-time", str(t0 + 5), "--end-time", str(t0 + 8))
        self.assertEqual(self.messages(win), ["line 05", "line 06", "line 07"])
        # text output: TIMESTAMP, MESSAGE, INGESTION per line, then the token
        p = self.stack.cli("logs", *base, "--start-from-head", "--limit", "2", "--output", "text")
        lines = p.stdout.decode().splitlines()
        self.assertEqual([ln.split("\t")[1] for ln in lines[:2]], ["line 00", "line 01"])
        self.assertTrue(lines[2].startswith("NEXTTOKEN\t"), lines)
        streams = self.logs("describe-log-streams", "--log-group-name", "cli/paging")
        s = streams["logStreams"][0]
        self.assertEqual((s["logStreamName"], s["firstEventTimestamp"], s["lastEventTimestamp"]),
                         ("s", t0, t0 + 24))
        self.assertGreater(s["storedBytes"], 0)

    # -- filter-log-events -------------------------------------------------------
    def filter_all(self, *args):
        """Every page of filter-log-events; returns (stream, message) pairs."""
        out, token = [], None
        for _ in range(100):
            extra = ["--next-token", token] if token else []
            r = self.logs("filter-log-events", "--log-group-name", "cli/filter", *args, *extra)
            out += [(e["logStreamName"], e["message"]) for e in r["events"]]
            for e in r["events"]:
                self.assertTrue(e["eventId"])
            token = r["nextToken"]
            if not token:
                return out
        self.fail("nextToken never ran out")

    def test_filter_terms_and_phrases(self):
        t0 = int(time.time() * 1000) - 30000
        self.put("cli/filter", "web", [(t0, "ERROR connection refused by db"),
                                       (t0 + 1, "ERROR connection reset"),
                                       (t0 + 2, "refused: connection to cache"),
                                       (t0 + 3, "error in lower case")])
        self.put("cli/filter", "db", [(t0 + 4, "db says: connection refused")])
        msgs = lambda pattern, *a: sorted(m for _, m in self.filter_all(
            "--filter-pattern", pattern, *a))
        self.assertEqual(len(self.filter_all()), 5)  # no pattern: every event
        self.assertEqual(msgs("ERROR"), ["ERROR connection refused by db",
                                         "ERROR connection reset"])
        self.assertEqual(msgs("error"), ["error in lower case"])  # case-sensitive
        self.assertEqual(msgs('"connection refused"'), ["ERROR connection refused by db",
                                                        "db says: connection refused"])
        # terms in any order, each a substring
        self.assertEqual(msgs("refused connection"), ["ERROR connection refused by db",
                                                      "db says: connection refused",
                                                      "refused: connection to cache"])
        self.assertEqual(msgs('ERROR "connection refused"'), ["ERROR connection refused by db"])
        self.assertEqual(msgs('"refused connection"'), [])
        got = self.filter_all("--log-stream-names", "db", "--filter-pattern", "refused")
        self.assertEqual(got, [("db", "db says: connection refused")])
        # the rest of the metric filter language, matched by the controller
        self.assertEqual(msgs("?reset ?cache"), ["ERROR connection reset",
                                                 "refused: connection to cache"])
        self.assertEqual(msgs("ERROR -reset"), ["ERROR connection refused by db"])
        self.assertEqual(msgs("%^ERROR conn%"), ["ERROR connection refused by db",
                                                "ERROR connection reset"])
        self.assertEqual(msgs("%refused$%"), ["db says: connection refused"])
        self.assertEqual(msgs("[level=ERROR, what, state=re*, ...]"),
                         ["ERROR connection refused by db", "ERROR connection reset"])
        self.put("cli/filter", "json", [(t0 + 5, '{"user": "root", "n": 12}'),
                                        (t0 + 6, '{"user": "alice", "n": 3}')])
        self.assertEqual(msgs('{ $.user = "root" && $.n > 10 }'), ['{"user": "root", "n": 12}'])
        self.assertEqual(msgs('"n\\": 3"'), ['{"user": "alice", "n": 3}'])  # an escaped quote
        # a small --limit with a sparse match: pages go on until the match
        got = self.filter_all("--filter-pattern", "{ $.n < 5 }", "--limit", "1")
        self.assertEqual(got, [("json", '{"user": "alice", "n": 3}')])
        # a pattern that does not parse: the CLI says where, the controller too
        p = self.stack.cli("logs", "filter-log-events", "--log-group-name", "cli/filter",
                           "--filter-pattern", "{ $.n > }")
        self.assertEqual(p.returncode, USAGE, p.stderr)
        self.assertIn(b"position", p.stderr)
        p = self.stack.cli("logs", "filter-log-events", "--log-group-name", "cli/filter",
                           "--filter-pattern", "a-b")
        self.assertIn(b"put the term in double quotes", p.stderr)
        got = self.filter_all("--start-time", str(t0 + 1), "--end-time", str(t0 + 3))
        self.assertEqual([m for _, m in got], ["ERROR connection reset",
                                               "refused: connection to cache"])
        # tail prints TIMESTAMP STREAM MESSAGE
        p = self.stack.cli("logs", "tail", "cli/filter", "--filter-pattern", "reset",
                           "--since", "1h")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(p.stdout.decode(),
                         r"^\d{4}-\d\d-\d\dT\S+ web ERROR connection reset\n$")

    # -- a real session's recording --------------------------------------------
    def test_session_export_and_replay(self):
        s = self.shell(cols=80, rows=24)
        full = bytearray()
        orig_read = s._read

        def keep(timeout):  # every byte the CLI printed, also those expect() consumed
            before = len(s.buf)
            r = orig_read(timeout)
            full.extend(s.buf[before:])
            return r
        s._read = keep
        s.send("printf 'h\\303\\251llo \\342\\234\\223 %s\\n' recorded-$((6*7))\r")
        s.expect(rb"h\xc3\xa9llo \xe2\x9c\x93 recorded-42\r\n")
        s.expect(rb"ph\$ ")
        s.send("exit\r")
        self.assertEqual(s.wait(), 0)
        sid = re.search(rb"Exiting session with sessionId: ([^\s.]+)", s.buf).group(1).decode()
        wait_until(lambda: (self.stack.session(sid, "History") or {}).get("Status") ==
                   "Terminated", 30, "the session Terminated (transcript acknowledged)")

        p = self.stack.cli("session", "export", sid)
        self.assertEqual(p.returncode, 0, p.stderr)
        lines = p.stdout.decode().split("\n")
        self.assertEqual(lines[-1], "")  # every line ends in \n
        header = json.loads(lines[0])
        self.assertEqual(header["version"], 2)
        self.assertEqual((header["width"], header["height"]), (80, 24))
        self.assertIsInstance(header["timestamp"], int)
        self.assertEqual(header["env"]["TERM"], "xterm-256color")
        out, last_t = b"", 0.0
        for line in lines[1:-1]:
            ev = json.loads(line)
            self.assertEqual(len(ev), 3, line)
            t, kind, data = ev
            self.assertIsInstance(t, (int, float))
            self.assertGreaterEqual(t, last_t)
            last_t = t
            self.assertIn(kind, ("o", "i", "r"))
            self.assertIsInstance(data, str)
            if kind == "o":
                out += data.encode()
        self.assertIn("h\u00e9llo \u2713 recorded-42".encode(), out)

        r = self.stack.cli("session", "replay", sid, "--speed", "0")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, out)  # the "o" events, byte for byte
        # ... which are the bytes the CLI printed during the session (from the
        # printf command's echo on, which the hook above saw)
        at = r.stdout.find(b"printf 'h")
        self.assertGreaterEqual(at, 0, r.stdout)
        self.assertIn(r.stdout[at:], bytes(full))

        # the same stream through the logs verbs; a wrong group says so
        g = self.logs("get-log-events", "--log-group-name", "porthole/sessions",
                      "--log-stream-name", sid, "--start-from-head", "--limit", "1")
        self.assertEqual(json.loads(g["events"][0]["message"])["version"], 2)
        p = self.stack.cli("session", "export", sid, "--log-group", "cli/none")
        self.assertEqual(p.returncode, API)
        self.assertEqual(p.stdout, b"")


if __name__ == "__main__":
    main()
