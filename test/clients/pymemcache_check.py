"""pymemcache's whole Client API against one server (argv[1]: port). Prints PASS/FAIL lines
and DONE; run against lmcached and memcached alike, so both must answer the same."""
import sys
from pymemcache.client.base import Client
from pymemcache.exceptions import MemcacheClientError, MemcacheIllegalInputError

port = int(sys.argv[1])
c = Client(("127.0.0.1", port), default_noreply=False, connect_timeout=5, timeout=5)
failed = False


def check(name, got, want):
    global failed
    if got == want:
        print("PASS %s" % name)
    else:
        failed = True
        print("FAIL %s: got %r, want %r" % (name, got, want))


check("set", c.set("pm-a", b"alpha", expire=0, noreply=False), True)
check("get", c.get("pm-a"), b"alpha")
check("get missing", c.get("pm-missing"), None)
check("get default", c.get("pm-missing", default=b"dflt"), b"dflt")
check("add existing", c.add("pm-a", b"x", noreply=False), False)
check("add new", c.add("pm-b", b"beta", noreply=False), True)
check("replace missing", c.replace("pm-missing", b"x", noreply=False), False)
check("replace", c.replace("pm-b", b"BETA", noreply=False), True)
check("append", c.append("pm-b", b"-end", noreply=False), True)
check("prepend", c.prepend("pm-b", b"start-", noreply=False), True)
check("get after append/prepend", c.get("pm-b"), b"start-BETA-end")
check("set_many", c.set_many({"pm-m1": b"1", "pm-m2": b"2", "pm-m3": b"3"}, noreply=False), [])
check("get_many", c.get_many(["pm-m1", "pm-m2", "pm-m3", "pm-missing"]), {"pm-m1": b"1", "pm-m2": b"2", "pm-m3": b"3"})
value, cas = c.gets("pm-a")
check("gets value", value, b"alpha")
check("gets cas is a number", isinstance(cas, bytes) and cas.isdigit(), True)
check("cas right", c.cas("pm-a", b"alpha2", cas, noreply=False), True)
check("cas stale", c.cas("pm-a", b"alpha3", cas, noreply=False), False)
check("cas missing", c.cas("pm-missing", b"x", b"1", noreply=False), None)
many = c.gets_many(["pm-m1", "pm-m2"])
check("gets_many", sorted((k, v[0]) for k, v in many.items()), [("pm-m1", b"1"), ("pm-m2", b"2")])
check("incr missing", c.incr("pm-n", 1), None)
c.set("pm-n", b"41")
check("incr", c.incr("pm-n", 1), 42)
check("decr", c.decr("pm-n", 50), 0)
check("incr wraps", (c.set("pm-w", b"18446744073709551615"), c.incr("pm-w", 2))[1], 1)
try:
    c.incr("pm-a", 1)
    check("incr non-numeric raises", False, True)
except MemcacheClientError:
    check("incr non-numeric raises", True, True)
check("touch", c.touch("pm-a", 100, noreply=False), True)
check("touch missing", c.touch("pm-missing", 100, noreply=False), False)
check("delete", c.delete("pm-a", noreply=False), True)
check("delete missing", c.delete("pm-a", noreply=False), False)
check("delete_many", c.delete_many(["pm-m1", "pm-m2"], noreply=False), True)
check("get_many after delete_many", c.get_many(["pm-m1", "pm-m2", "pm-m3"]), {"pm-m3": b"3"})
check("noreply set", c.set("pm-q", b"quiet", noreply=True), True)
check("noreply value there", c.get("pm-q"), b"quiet")
check("flags and expire kept", (c.set("pm-f", b"v", expire=1000), c.get("pm-f"))[1], b"v")
try:
    c.set("bad key", b"x")
    check("a key with a space is refused by the client", False, True)
except MemcacheIllegalInputError:
    check("a key with a space is refused by the client", True, True)
big = b"z" * (512 * 1024)
check("a 512 KiB value", (c.set("pm-big", big), c.get("pm-big"))[1] == big, True)
stats = c.stats()
check("stats has curr_items", b"curr_items" in stats, True)
check("stats has get_hits", b"get_hits" in stats, True)
check("stats settings", c.stats("settings").get(b"item_size_max"), 1048576)
check("version", c.version().startswith(b"1.6."), True)
check("cache_memlimit", c.cache_memlimit(64), True)
check("flush_all", c.flush_all(noreply=False), True)
check("get after flush_all", c.get("pm-b"), None)
check("flush_all with delay", c.flush_all(delay=10, noreply=False), True)
c.quit()
check("reconnects after quit", (c.set("pm-after", b"1"), c.get("pm-after"))[1], b"1")
c.close()
print("DONE")
sys.exit(1 if failed else 0)
