#!/usr/bin/env python3
"""Stand-in for crio and kubelet in the integration tests (run as `crio` or `kubelet`).

It checks what the real binary would need from usernode (crio: _CRIO_ROOTLESS=1 and the rendered
crio.conf; kubelet: the rendered KubeletConfiguration and crio's socket accepting connections;
both: no NOTIFY_SOCKET of their own),
then behaves as the test asks through STANDIN_* environment variables:

  STANDIN_EVENTS          file to append "ROLE EVENT PID" lines to (version, start, ready, sigterm, exit)
  STANDIN_<ROLE>_DELAY    seconds before the socket / healthz port is up (default 0.2)
  STANDIN_<ROLE>_CRASH    seconds after readiness at which it exits with status 1
  STANDIN_<ROLE>_CRASH_ONCE_FILE  crash only if this file does not exist yet (creates it)
  STANDIN_<ROLE>_VERSION what --version says (default 1.30.0)
  STANDIN_<ROLE>_EXIT    exit at once with this status, never getting ready
  STANDIN_<ROLE>_IGNORE_TERM=1    ignore SIGTERM (the supervisor must SIGKILL it)
  STANDIN_<ROLE>_GRANDCHILD=1     leave `sleep 1000.$STANDIN_TAG` behind in a session of its own
  STANDIN_TAG             digits that make this test's grandchildren findable (default 0)
  STANDIN_<ROLE>_OUTPUT   bytes of output to write at start (log rotation)
"""
import http.server
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

role = os.path.basename(sys.argv[0])
ROLE = role.upper()


def env(name, default=None):
    return os.environ.get(f"STANDIN_{ROLE}_{name}", default)


def event(what):
    path = os.environ.get("STANDIN_EVENTS")
    if path:
        with open(path, "a") as f:
            f.write(f"{role} {what} {os.getpid()} {time.time():.3f}\n")


def fail(message, status=97):
    print(f"{role} stand-in: {message}", file=sys.stderr, flush=True)
    event("fail")
    sys.exit(status)


def read_config(flag):
    for i, arg in enumerate(sys.argv):
        if arg == flag and i + 1 < len(sys.argv):
            return sys.argv[i + 1]
        if arg.startswith(flag + "="):
            return arg.split("=", 1)[1]
    fail(f"no {flag} given")


def common_start():
    if "--version" in sys.argv:
        event("version")
        version = env("VERSION", "1.30.0")
        print({"crio": f"crio version {version}", "kubelet": f"Kubernetes v{version}"}[role])
        sys.exit(0)
    event("start")
    if env("EXIT") is not None:
        print(f"{role} stand-in: exiting with status {env('EXIT')} as asked", file=sys.stderr, flush=True)
        event("exit")
        sys.exit(int(env("EXIT")))
    # systemd's notify socket belongs to usernode's main process, never to a service.
    if os.environ.get("NOTIFY_SOCKET") or os.environ.get("WATCHDOG_USEC"):
        fail("NOTIFY_SOCKET/WATCHDOG_USEC leaked into the service's environment")
    if env("IGNORE_TERM") == "1":
        signal.signal(signal.SIGTERM, lambda *_: event("sigterm-ignored"))
    else:
        def on_term(*_):
            event("sigterm")
            sys.exit(0)
        signal.signal(signal.SIGTERM, on_term)
    if env("GRANDCHILD") == "1":
        tag = os.environ.get("STANDIN_TAG", "0")
        subprocess.Popen(["sleep", f"1000.{tag}"], start_new_session=True)
    if env("OUTPUT"):
        left = int(env("OUTPUT"))
        line = (role + " output " + "x" * 100 + "\n").encode()
        while left > 0:
            sys.stdout.buffer.write(line[:left])
            left -= len(line)
        sys.stdout.flush()
    print(f"{role} stand-in started, pid {os.getpid()}", flush=True)


def crash_later():
    crash = env("CRASH")
    if crash is None:
        return
    once = env("CRASH_ONCE_FILE")
    if once:
        if os.path.exists(once):
            return
        open(once, "w").close()

    def crash_now():
        time.sleep(float(crash))
        event("crash")
        print(f"{role} stand-in: crashing as asked", file=sys.stderr, flush=True)
        os._exit(1)
    threading.Thread(target=crash_now, daemon=True).start()


def crio():
    if os.environ.get("_CRIO_ROOTLESS") != "1":
        fail("_CRIO_ROOTLESS=1 is not set")
    conf = open(read_config("--config")).read()
    for needed in ('cgroup_manager = "cgroupfs"', 'conmon_cgroup = "pod"', 'storage_driver = "overlay"'):
        if needed not in conf:
            fail(f"crio.conf lacks {needed}")
    listen = re.search(r'^listen = "(.*)"$', conf, re.M).group(1)
    time.sleep(float(env("DELAY", "0.2")))
    os.makedirs(os.path.dirname(listen), exist_ok=True)
    if os.path.exists(listen):
        os.unlink(listen)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(listen)
    server.listen(16)
    event("ready")
    crash_later()
    while True:
        conn, _ = server.accept()
        conn.close()


def kubelet():
    conf = open(read_config("--config")).read()
    for needed in ("KubeletInUserNamespace: true", "cgroupDriver: cgroupfs", "failSwapOn: false",
                   'nodefs.available: "3%"'):
        if needed not in conf:
            fail(f"kubelet config lacks {needed}")
    if not re.search(r"^localStorageCapacityIsolation: (true|false)$", conf, re.M):
        fail("kubelet config lacks localStorageCapacityIsolation")
    endpoint = re.search(r'^containerRuntimeEndpoint: "unix://(.*)"$', conf, re.M).group(1)
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(endpoint)
    except OSError as e:
        fail(f"crio's socket {endpoint} does not accept connections: {e}", 3)
    probe.close()
    port = int(re.search(r"^healthzPort: (\d+)$", conf, re.M).group(1))
    time.sleep(float(env("DELAY", "0.2")))

    class Healthz(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            ok = self.path == "/healthz"
            self.send_response(200 if ok else 404)
            self.end_headers()
            self.wfile.write(b"ok" if ok else b"not found")

        def log_message(self, *args):
            pass
    server = http.server.HTTPServer(("127.0.0.1", port), Healthz)
    event("ready")
    crash_later()
    server.serve_forever()


common_start()
{"crio": crio, "kubelet": kubelet}[role]()
