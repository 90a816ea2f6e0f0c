#!/usr/bin/env python3
"""Runs the `chat` client in plain mode, for the course's automated check.

Usage: python3 client.py --address 127.0.0.1 --port 5378

The client itself is the Rust binary built next to this file by
`cargo build --release` (target/release/chat); the environment variable
CHAT_CLIENT_BINARY names another build instead (the test suite uses it).
This script replaces itself
with that program, passing the same arguments plus --plain, so that the
program reads the terminal and the network directly. Standard library only,
Python 3.8 or newer.
"""

import os
import sys


def main() -> int:
    here = os.path.dirname(os.path.realpath(__file__))
    named = os.environ.get("CHAT_CLIENT_BINARY")
    binary = named or os.path.join(
        here, "target", "release", "chat" + (".exe" if os.name == "nt" else "")
    )
    if named and not os.path.isfile(named):
        sys.stderr.write(
            "client.py: CHAT_CLIENT_BINARY names {}, which is not a file.\n".format(named)
        )
        return 1
    if not os.path.isfile(binary):
        sys.stderr.write(
            "client.py: the chat client is not built yet ({}).\n"
            "Build it first with:\n"
            "    cargo build --release --manifest-path {}\n".format(
                binary, os.path.join(here, "Cargo.toml")
            )
        )
        return 1
    sys.stdout.flush()
    os.execv(binary, [binary, "--plain"] + sys.argv[1:])
    return 1  # not reached: execv does not return


if __name__ == "__main__":
    sys.exit(main())
