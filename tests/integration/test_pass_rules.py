"""Unit tests of the pass plugin's rules, run in the real plugin host: the
fixture plugin tests/integration/plugins/passunit loads plugins/pass's own
numbering, rules, dates and header modules (symbolic links) with the
sandbox's `require`, runs its cases on GET /passunit and answers each
result; each case is one TAP line here."""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from harness import Relais  # noqa: E402

PLUGINS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "plugins")


def main():
    r = Relais(extra_config='plugins_dir = "%s"\nplugins = {"passunit"}\n' % PLUGINS)
    failed = 0
    try:
        r.start()
        st, out, _ = r.req("GET", "/passunit", token=None)
        assert st == 200 and isinstance(out, list) and out, (st, out, r.read_log()[-2000:])
        print("TAP version 13")
        print("1..%d" % len(out))
        for i, c in enumerate(out, 1):
            if c["ok"]:
                print("ok %d - %s" % (i, c["name"]))
            else:
                failed += 1
                print("not ok %d - %s" % (i, c["name"]))
                print("# " + c["error"])
    except Exception as e:   # the server did not start, or no answer
        print("TAP version 13\n1..1\nnot ok 1 - passunit: %s" % e)
        for line in r.read_log().splitlines()[-15:]:
            print("#   log: " + line)
        failed = 1
    finally:
        r.stop()
        if not failed:
            r.cleanup()
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
