"""e2e: the audit trail (issue 5): lookup-events and the hash chain of ph:audit.

Tampering is done the way an intruder with Redis access would do it: straight
in the stream. Redis streams cannot change or insert an entry in place, so an
"edit" rewrites the whole stream (read every entry, DEL ph:audit, XADD them all
back with their original ids, one field changed) inside one Lua script, so that
no append of the controller falls in between. Every test puts the trail back
as it was, and checks that verify says intact again.
"""
import json
import re
import subprocess
import tempfile
import time

import phtest
from phtest import StackTest, wait_until

NOT_INTACT = 1

# Rewrites the stream KEYS[1] (every entry with its own id), atomically:
#   edit ID FIELD VALUE     entry ID gets FIELD = VALUE
#   insert ID F1 V1 ...     entry ID with those fields is put back at its place
REWRITE = """
local all = redis.call('XRANGE', KEYS[1], '-', '+')
local mode, id = ARGV[1], ARGV[2]
local function before(a, b)
  local am, as = string.match(a, '^(%d+)-(%d+)$')
  local bm, bs = string.match(b, '^(%d+)-(%d+)$')
  am, as, bm, bs = tonumber(am), tonumber(as), tonumber(bm), tonumber(bs)
  return am < bm or (am == bm and as < bs)
end
local insert = {}
if mode == 'insert' then
  for i = 3, #ARGV do insert[#insert + 1] = ARGV[i] end
end
redis.call('DEL', KEYS[1])
local done = mode ~= 'insert'
for _, e in ipairs(all) do
  if not done and before(id, e[1]) then
    redis.call('XADD', KEYS[1], id, unpack(insert))
    done = true
  end
  local f = e[2]
  if mode == 'edit' and e[1] == id then
    for j = 1, #f, 2 do
      if f[j] == ARGV[3] then f[j + 1] = ARGV[4] end
    end
  end
  redis.call('XADD', KEYS[1], e[1], unpack(f))
end
if not done then redis.call('XADD', KEYS[1], id, unpack(insert)) end
return #all
"""

DUMP = "return cjson.encode(redis.call('XRANGE', KEYS[1], '-', '+'))"


class AuditTest(StackTest):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        try:
            cls.bob_dir = tempfile.mkdtemp(prefix="cli-bob-", dir=cls.stack.dir)
            env = {"PORTHOLE_CONFIG_DIR": cls.bob_dir}
            p = cls.stack.cli("configure", "--endpoint", cls.stack.env["PORTHOLE_ENDPOINT"],
                              "--server-key", cls.stack.env["PORTHOLE_SERVER_KEY"], env=env)
            assert p.returncode == 0, p.stderr
            key = p.stdout.decode().strip().splitlines()[-1]
            for args in (("iam", "create-user", "bob"),
                         ("iam", "add-user-key", "--user", "bob", "--public-key", key)):
                p = cls.stack.cli(*args)
                assert p.returncode == 0, p.stderr
            cls.workload()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def bob(cls, *args):
        return cls.stack.cli(*args, env={"PORTHOLE_CONFIG_DIR": cls.bob_dir})

    @classmethod
    def workload(cls):
        """Allowed and denied calls, and a session: a trail worth checking."""
        s = cls.stack
        assert s.cli("describe-instance-information").returncode == 0
        p = s.cli("start-session", "--target", s.instance_id, "--command", "echo audited")
        assert p.returncode == 0, p.stderr
        assert s.cli("describe-sessions", "--state", "History").returncode == 0
        assert s.cli("get-preferences").returncode == 0
        assert cls.bob("describe-instance-information").returncode == 77
        assert cls.bob("start-session", "--target", s.instance_id,
                       "--command", "true").returncode == 77

    # -- helpers ----------------------------------------------------------------
    def entries(self):
        """[(id, {field: value})] of ph:audit, oldest first."""
        raw = json.loads(self.stack.redis("EVAL", DUMP, "1", "ph:audit"))
        return [(e[0], dict(zip(e[1][::2], e[1][1::2]))) for e in raw]

    def verify(self, *args):
        p = self.stack.cli("audit", "verify", "--output", "text", *args)
        return p.returncode, p.stdout.decode(), p.stderr.decode()

    def settled_entries(self, at_least):
        """The entries once the controller has appended what it queued: the
        stream's last hash equals ph:audit:head and holds at_least events."""
        def settled():
            e = self.entries()
            head = self.stack.redis("GET", "ph:audit:head")
            return e if len(e) >= at_least and e[-1][1].get("hash") == head else None
        return wait_until(settled, 10, "the audit appends to settle")

    def assert_intact(self):
        rc, out, err = self.verify()
        self.assertEqual(rc, 0, out + err)
        m = re.fullmatch(r"intact: (\d+) events checked\n", out)
        self.assertIsNotNone(m, out)
        return int(m.group(1))

    def lookup(self, *args):
        return self.stack.cli_json("audit", "lookup-events", *args)

    # -- tests --------------------------------------------------------------------
    def test_verify_intact_after_workload(self):
        entries = self.settled_entries(8)
        checked = self.assert_intact()
        self.assertGreaterEqual(checked, len(entries))
        out = self.stack.cli_json("audit", "verify")
        self.assertEqual(out["Intact"], True)
        self.assertGreaterEqual(out["Checked"], checked)
        self.assertIsNone(out["BrokenEventId"])
        # the chain as documented: first prev_hash is 64 zeros, then each links
        self.assertEqual(entries[0][1]["prev_hash"], "0" * 64)
        for (_, a), (_, b) in zip(entries, entries[1:]):
            self.assertEqual(b["prev_hash"], a["hash"])
        # --from checks from that event on
        mid = entries[len(entries) // 2][0]
        rc, out, err = self.verify("--from", mid)
        self.assertEqual(rc, 0, out + err)
        self.assertLess(int(re.match(r"intact: (\d+)", out).group(1)), checked)

    def test_edited_event_is_named(self):
        entries = self.settled_entries(8)
        victim, fields = entries[3]
        self.assertIn("principal", fields)
        self.stack.redis("EVAL", REWRITE, "1", "ph:audit", "edit", victim, "principal",
                         "user:nobody-at-all")
        self.addCleanup(self.stack.redis, "EVAL", REWRITE, "1", "ph:audit", "edit", victim,
                        "principal", fields["principal"])
        self.assertEqual(dict(self.entries())[victim]["principal"], "user:nobody-at-all")
        rc, out, err = self.verify()
        self.assertEqual(rc, NOT_INTACT, out + err)
        self.assertTrue(out.startswith(f"broken at {victim}: "), out)
        self.assertIn("does not match its hash", out)
        doc = json.loads(self.stack.cli("audit", "verify", "--output", "json").stdout)
        self.assertEqual((doc["Intact"], doc["BrokenEventId"]), (False, victim))
        # put it back: intact again
        self.stack.redis("EVAL", REWRITE, "1", "ph:audit", "edit", victim, "principal",
                         fields["principal"])
        self.assert_intact()

    def test_deleted_event_names_the_next(self):
        entries = self.settled_entries(8)
        victim, fields = entries[4]
        following = entries[5][0]
        flat = [x for kv in fields.items() for x in kv]
        self.assertEqual(self.stack.redis("XDEL", "ph:audit", victim), "1")
        restore = ("EVAL", REWRITE, "1", "ph:audit", "insert", victim, *flat)
        self.addCleanup(lambda: victim in dict(self.entries()) or self.stack.redis(*restore))
        rc, out, err = self.verify()
        self.assertEqual(rc, NOT_INTACT, out + err)
        self.assertTrue(out.startswith(f"broken at {following}: "), out)
        self.assertIn("deleted", out)
        self.stack.redis(*restore)
        self.assertIn(victim, dict(self.entries()))
        self.assert_intact()

    def test_lookup_filters_by_user_and_action(self):
        self.settled_entries(8)
        bob = self.lookup("--user", "bob")["Events"]
        self.assertTrue(bob)
        self.assertEqual({e["Principal"] for e in bob}, {"user:bob"})
        self.assertEqual({e["Decision"] for e in bob}, {"Deny"})
        names = {e["EventName"] for e in bob}
        self.assertIn("instance:DescribeInstanceInformation", names)
        self.assertIn("session:StartSession", names)
        denied = [e for e in bob if e["EventName"] == "session:StartSession"][0]
        self.assertEqual(denied["Resource"], "instance/" + self.stack.instance_id)
        self.assertEqual(denied["Result"], "AccessDenied")
        for field in ("EventId", "EventTime", "SourceIPAddress", "RequestId"):
            self.assertTrue(denied[field], field)

        starts = self.lookup("--action", "session:StartSession")["Events"]
        self.assertEqual({e["EventName"] for e in starts}, {"session:StartSession"})
        self.assertEqual({e["Principal"] for e in starts} >= {"user:admin", "user:bob"}, True)
        ok = [e for e in starts if e["Principal"] == "user:admin"]
        self.assertEqual({e["Decision"] for e in ok}, {"Allow"})
        self.assertEqual({e["Result"] for e in ok}, {"Success"})
        both = self.lookup("--user", "admin", "--action", "session:*")["Events"]
        self.assertTrue(both)
        self.assertTrue(all(e["Principal"] == "user:admin" and
                            e["EventName"].startswith("session:") for e in both), both)

        # newest first, paged
        page1 = self.lookup("--max-results", "2")
        self.assertEqual(len(page1["Events"]), 2)
        self.assertTrue(page1["NextToken"])
        page2 = self.lookup("--max-results", "2", "--next-token", page1["NextToken"])
        ids = [e["EventId"] for e in page1["Events"] + page2["Events"]]
        key = [tuple(int(x) for x in i.split("-")) for i in ids]
        self.assertEqual(key, sorted(key, reverse=True))
        self.assertEqual(len(set(ids)), len(ids))

        # time range
        future = str(int(time.time()) + 3600)
        self.assertEqual(self.lookup("--start-time", future)["Events"], [])
        self.assertTrue(self.lookup("--start-time", "2020-01-01T00:00:00Z",
                                    "--user", "bob")["Events"])
        self.assertEqual(self.lookup("--end-time", "2020-01-01")["Events"], [])

        table = self.stack.cli("audit", "lookup-events", "--user", "bob", "--output", "table")
        self.assertEqual(table.returncode, 0, table.stderr)
        self.assertRegex(table.stdout.decode(), r"(?m)^EventTime\s+Principal\s+EventName")

    def shipped(self):
        """[(stream, message dict)] of the log group porthole/audit, every stream."""
        p = self.stack.cli("logs", "filter-log-events", "--log-group-name", "porthole/audit")
        if p.returncode != 0:  # the group appears with the first copy
            self.assertIn(b"does not exist", p.stderr)
            return []
        out = json.loads(p.stdout)
        return [(e["logStreamName"], json.loads(e["message"])) for e in out["events"]]

    def test_shipped_to_the_audit_log_group(self):
        entries = self.settled_entries(8)
        ids = [i for i, _ in entries]

        def copied():
            got = self.shipped()
            have = {m["eventId"] for _, m in got}
            return got if set(ids) <= have else None
        got = wait_until(copied, 15, "every audit event copied to porthole/audit")
        # each event exactly once, in the order of ph:audit, one stream per UTC day
        shipped_ids = [m["eventId"] for _, m in got]
        self.assertEqual(len(shipped_ids), len(set(shipped_ids)), "duplicates")
        order = [i for i in shipped_ids if i in set(ids)]
        self.assertEqual(order, ids)
        by_id = dict(entries)
        for stream, m in got:
            if m["eventId"] not in by_id:
                continue
            f = by_id[m["eventId"]]
            if m["principal"] == "user:nobody-at-all":
                continue  # copied while test_edited_event_is_named had tampered with it
            self.assertEqual(stream, m["eventTime"][:10])
            self.assertEqual(m["time"], int(f["time_ms"]))
            for key, field in (("principal", "principal"), ("sourceIp", "source_ip"),
                               ("action", "action"), ("resource", "resource"),
                               ("decision", "decision"), ("requestId", "request_id"),
                               ("result", "result"), ("hash", "hash")):
                self.assertEqual(m[key], f[field], key)
        denied = [m for _, m in got if m["principal"] == "user:bob" and
                  m["action"] == "session:StartSession"]
        self.assertTrue(denied)
        self.assertEqual(denied[0]["decision"], "Deny")
        # a term search finds the denials, as a metric filter will
        out = self.stack.cli_json("logs", "filter-log-events", "--log-group-name",
                                  "porthole/audit", "--filter-pattern", '"Deny"')
        self.assertTrue(out["events"])
        self.assertTrue(all('"decision":"Deny"' in e["message"] for e in out["events"]))
        groups = self.stack.cli_json("logs", "describe-log-groups", "--log-group-name-prefix",
                                     "porthole/audit")["logGroups"]
        self.assertEqual([g["logGroupName"] for g in groups], ["porthole/audit"])

    def test_bob_may_not_read_the_trail(self):
        p = self.bob("audit", "lookup-events")
        self.assertEqual(p.returncode, 77, p.stderr)
        self.assertIn(b"audit:LookupEvents", p.stderr)
        p = self.bob("audit", "verify")
        self.assertEqual(p.returncode, 77, p.stderr)
        self.assertIn(b"audit:Verify", p.stderr)

    def test_help(self):
        for verb in ("lookup-events", "verify"):
            p = self.stack.cli("audit", verb, "--help")
            self.assertEqual(p.returncode, 0)
            self.assertIn(f"Usage: porthole audit {verb}".encode(), p.stdout)
        p = self.stack.cli("audit", "lookup-events", "--start-time", "yesterday")
        self.assertEqual(p.returncode, 64)
        self.assertIn(b"--start-time", p.stderr)


if __name__ == "__main__":
    phtest.main()
