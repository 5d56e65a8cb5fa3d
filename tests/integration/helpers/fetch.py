#!/usr/bin/env python3
"""fetch.py URL [DEADLINE_SECONDS]: print the body of an HTTP GET.

Without a deadline one attempt is made (exit 7 when the connection is refused, as curl does).
With one, refused or reset connections are retried until the deadline."""
import sys
import time
import urllib.error
import urllib.request

url = sys.argv[1]
deadline = time.monotonic() + float(sys.argv[2]) if len(sys.argv) > 2 else None
while True:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            sys.stdout.write(response.read().decode())
        sys.exit(0)
    except (urllib.error.URLError, ConnectionError, OSError) as error:
        reason = getattr(error, "reason", error)
        if deadline is None or time.monotonic() > deadline:
            print(f"fetch.py: {url}: {reason}", file=sys.stderr)
            sys.exit(7 if isinstance(reason, ConnectionRefusedError) else 1)
        time.sleep(0.02)
