#!/usr/bin/env python3
"""Checks that this container really looks like its target GPU. `--json` for machines; exit 1 on any failure."""
import json
import os
import sys

HERE = os.path.dirname(os.path.realpath(__file__))
sys.path.insert(0, HERE)
from gpudev_shim.verify_checks import verify  # noqa: E402


def main(argv):
    report = verify(os.environ, os.path.join(HERE, "bin"))
    summary = {status: sum(c["status"] == status for c in report.checks) for status in ("pass", "fail", "skip")}
    if "--json" in argv:
        print(json.dumps({"checks": report.checks, "summary": summary}, indent=2))
    else:
        for check in report.checks:
            line = "{:<5} {:<20} {}".format(check["status"].upper(), check["id"], check["title"])
            if check["status"] != "pass":
                line += "  (expected {!r}, got {!r}{})".format(check["expected"], check["actual"], "; " + check["detail"] if check["detail"] else "")
            print(line)
        print("{pass} passed, {fail} failed, {skip} skipped".format(**summary))
    return 1 if summary["fail"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
