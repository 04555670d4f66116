#!/usr/bin/env python3
"""expect_exit.py CODE CMD [ARG...]: runs CMD with the caller's stdin, stdout and stderr;
exits 0 when CMD exits with exactly CODE, 1 otherwise (another code, or a crash).

lit's `not` only checks that a command failed, and it also passes when the command was
killed by a signal; ganc's exit codes are a contract (1 user error, 2 usage, 3 internal
compiler error), so the golden tests check them exactly.
"""
import subprocess
import sys


def main(argv):
    if len(argv) < 3:
        sys.stderr.write("usage: expect_exit.py CODE CMD [ARG...]\n")
        return 2
    want = int(argv[1])
    got = subprocess.call(argv[2:])
    if got == want:
        return 0
    what = "was killed by signal %d" % -got if got < 0 else "exited with %d" % got
    sys.stderr.write("expect_exit: '%s' %s, expected exit code %d\n" % (argv[2], what, want))
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
