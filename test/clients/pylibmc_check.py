"""pylibmc (libmemcached) in binary mode against a server: prints one PASS line per check and
exits non-zero at the first failure. Run by pylibmc.test.ts with Debian's /usr/bin/python3.
The same script passes against Debian's memcached 1.6.18, so every expectation here is memcached's."""
import sys
import time

import pylibmc

port = int(sys.argv[1])
mc = pylibmc.Client(["127.0.0.1:%d" % port], binary=True, behaviors={"cas": True})


def check(name, cond):
    if not cond:
        print("FAIL " + name, flush=True)
        sys.exit(1)
    print("PASS " + name, flush=True)


check("set", mc.set("k", "v1") is True)
check("get", mc.get("k") == "v1")
check("get miss", mc.get("missing") is None)
check("add existing", mc.add("k", "x") is False)
check("add new", mc.add("k2", "a") is True)
check("replace", mc.replace("k2", "b") is True)
try:
    mc.replace("nope", "b")
    check("replace missing raises NotFound (binary KEY_ENOENT)", False)
except pylibmc.NotFound:
    check("replace missing raises NotFound (binary KEY_ENOENT)", True)
check("append", mc.append("k2", "c") is True)
check("prepend", mc.prepend("k2", "a") is True)
check("append/prepend result", mc.get("k2") == "abc")
check("bytes round trip", mc.set("bin", b"\x00\x01\xff") and mc.get("bin") == b"\x00\x01\xff")
check("int values keep their flags", mc.set("i", 42) and mc.get("i") == 42)
mc.set("n", "10")
check("incr", mc.incr("n", 5) == 15)
check("decr", mc.decr("n", 3) == 12)
check("decr floors at zero", mc.decr("n", 100) == 0)
try:
    mc.incr("no-such-counter")
    check("incr missing raises NotFound", False)
except pylibmc.NotFound:
    check("incr missing raises NotFound", True)
value, cas = mc.gets("k")
check("gets", value == "v1" and cas > 0)
check("cas with the right token", mc.cas("k", "v2", cas) is True)
check("cas with a stale token", mc.cas("k", "v3", cas) is False)
check("cas result", mc.get("k") == "v2")
check("delete", mc.delete("k") is True)
check("delete missing", mc.delete("k") is False)
check("set_multi", mc.set_multi({"m1": "1", "m2": "2", "m3": "3"}) == [])
check("get_multi", mc.get_multi(["m1", "m2", "m3", "m-missing"]) == {"m1": "1", "m2": "2", "m3": "3"})
check("delete_multi", mc.delete_multi(["m1", "m2"]) is True)
check("get_multi after delete", mc.get_multi(["m1", "m2", "m3"]) == {"m3": "3"})
mc.set("t", "x", time=1)
check("touch", mc.touch("t", 3600) is True)
time.sleep(2.1)
check("touch kept it alive", mc.get("t") == "x")
mc.set("ttl", "x", time=1)
time.sleep(2.1)
check("expiry", mc.get("ttl") is None)
stats = mc.get_stats()
check("stats", len(stats) == 1 and int(stats[0][1]["curr_items"]) > 0)
check("flush_all", mc.flush_all() is True)
check("flushed", mc.get("k2") is None and mc.get("m3") is None)
print("DONE", flush=True)
