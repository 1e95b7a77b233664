"""A local Lambda Runtime API host that starts a function as a fresh process and times it.

    host = RuntimeHost()
    timings = host.run(["target/release/me"], env, events, check, "functions.log")

For each run the host serves the Runtime API's `next`, `response` and `error` calls on a free
port of 127.0.0.1 and starts the function with `AWS_LAMBDA_RUNTIME_API` pointing at itself,
the way Lambda does. It hands out one event at a time and measures, all with one monotonic clock:

- init: from just before the process is started to its first `GET .../invocation/next`;
- each invocation: from the moment the event has been written to the function to the moment
  its response has been read in full (the first one is the cold invocation, the rest warm);
- peak memory: the process's `VmHWM` from /proc, read after the last invocation.

The function is stopped (its process group killed) when the run ends, whatever happens.
"""

import http.server
import json
import os
import queue
import signal
import socket
import subprocess
import threading
import time
import uuid

PREFIX = "/2018-06-01/runtime"


class InvocationFailed(Exception):
    """The function answered an invocation with an error, or the wrong status."""


class _Handler(http.server.BaseHTTPRequestHandler):
    # Keep-alive, as Lambda's Runtime API allows: runtimes reuse one connection.
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        # Headers and body go out in two writes; without this, Nagle's algorithm would hold the
        # body back until the function's delayed ACK, adding up to 40 ms to an invocation.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, *_args):
        pass

    def _read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _reply(self, status, body=b"", headers=()):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def do_GET(self):  # noqa: N802  (http.server's naming)
        host = self.server.state
        if self.path != f"{PREFIX}/invocation/next":
            self._reply(404)
            return
        host.next_called(time.perf_counter())
        while True:
            try:
                request_id, body = host.events.get(timeout=0.5)
                break
            except queue.Empty:
                if host.stopping.is_set():
                    return
        deadline_ms = int(time.time() * 1000) + 60_000
        trace = uuid.uuid4().hex[:32]
        self._reply(
            200,
            body,
            [
                ("Content-Type", "application/json"),
                ("Lambda-Runtime-Aws-Request-Id", request_id),
                ("Lambda-Runtime-Deadline-Ms", str(deadline_ms)),
                ("Lambda-Runtime-Invoked-Function-Arn", host.function_arn),
                ("Lambda-Runtime-Trace-Id", f"Root=1-{trace[:8]}-{trace[8:]}"),
            ],
        )
        host.handed_out(request_id, time.perf_counter())

    def do_POST(self):  # noqa: N802
        host = self.server.state
        body = self._read_body()
        done = time.perf_counter()
        parts = self.path[len(PREFIX):].strip("/").split("/")
        if parts == ["init", "error"]:
            host.results.put(("init-error", None, done, body))
        elif len(parts) == 3 and parts[0] == "invocation" and parts[2] in ("response", "error"):
            host.results.put((parts[2], parts[1], done, body))
        else:
            self._reply(404)
            return
        self._reply(202, b'{"status":"OK"}', [("Content-Type", "application/json")])


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def handle_error(self, request, client_address):
        # A killed function drops its connection mid-request; that is expected, not news.
        pass


class _RunState:
    """What one run's server shares with its handlers. Each run has its own, reached through
    its own server, so a handler left over from a stopped process only ever sees its own."""

    def __init__(self, function_arn):
        self.function_arn = function_arn
        self.events = queue.Queue()
        self.results = queue.Queue()
        self.stopping = threading.Event()
        self.started = threading.Event()
        self.first_next = None
        self._handed_out = {}
        self._lock = threading.Condition()

    def next_called(self, at):
        with self._lock:
            if self.first_next is None:
                self.first_next = at
                self.started.set()

    def handed_out(self, request_id, at):
        with self._lock:
            self._handed_out[request_id] = at
            self._lock.notify_all()

    def handed_out_at(self, request_id):
        # A fast function can post its response before the thread that sent it the event has
        # noted the time; wait for that note.
        with self._lock:
            if not self._lock.wait_for(lambda: request_id in self._handed_out, timeout=10):
                raise InvocationFailed(f"no hand-out time for {request_id}")
            return self._handed_out.pop(request_id)


class RuntimeHost:
    """Starts functions one at a time, each with a Runtime API server of its own on a new port
    of 127.0.0.1, so that nothing a stopped process left behind can reach the next one."""

    def __init__(self, function_arn="arn:aws:lambda:us-east-1:123456789012:function:bench"):
        self.function_arn = function_arn
        self.server = None

    def _serve(self):
        state = _RunState(self.function_arn)
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.state = state
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return state, f"127.0.0.1:{self.server.server_address[1]}"

    def close(self):
        """Stops the current run's server, if any."""
        if self.server is not None:
            self.server.state.stopping.set()
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    @staticmethod
    def _wait_result(state, proc, timeout):
        deadline = time.monotonic() + timeout
        while True:
            try:
                return state.results.get(timeout=0.2)
            except queue.Empty:
                if proc.poll() is not None:
                    raise InvocationFailed(f"the function exited with status {proc.returncode}")
                if time.monotonic() > deadline:
                    raise InvocationFailed(f"no response within {timeout} s")

    def run(self, argv, env, events, check, log_path, name=None, timeout=120):
        """Starts `argv` with `env` plus the Lambda variables, sends it `events` (an iterable
        of dicts, or of callables that return one when called, so an event can depend on an
        earlier response) one by one, and returns the timings. `check(response)` is called on
        every decoded response and raises to stop the run."""
        state, address = self._serve()
        name = name or os.path.basename(argv[-1])
        lambda_env = {
            "AWS_LAMBDA_RUNTIME_API": address,
            "AWS_LAMBDA_FUNCTION_NAME": name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": "bench",
            "AWS_LAMBDA_LOG_FORMAT": "JSON",
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "LAMBDA_TASK_ROOT": os.path.dirname(os.path.abspath(argv[-1])),
        }
        # Lambda sets both; the Rust SDK reads the first, boto3 the second.
        region = env.get("AWS_REGION", "us-east-1")
        lambda_env.update(AWS_REGION=region, AWS_DEFAULT_REGION=region)
        with open(log_path, "ab") as log:
            started = time.perf_counter()
            proc = subprocess.Popen(
                argv, env={**env, **lambda_env}, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            while not state.started.wait(0.05):
                if proc.poll() is not None:
                    raise InvocationFailed(f"the function exited at init ({proc.returncode})")
                if time.perf_counter() - started > timeout:
                    raise InvocationFailed(f"no first `next` within {timeout} s")
            init_ms = (state.first_next - started) * 1000

            durations = []
            for event in events:
                if callable(event):
                    event = event()
                request_id = str(uuid.uuid4())
                state.events.put((request_id, json.dumps(event).encode()))
                kind, got_id, done, body = self._wait_result(state, proc, timeout)
                if kind != "response" or got_id != request_id:
                    raise InvocationFailed(f"the function reported {kind} for {got_id}")
                durations.append((done - state.handed_out_at(request_id)) * 1000)
                check(json.loads(body))
            return {
                "init_ms": init_ms,
                "first_ms": durations[0],
                "warm_ms": durations[1:],
                "peak_rss_kib": _peak_rss_kib(proc.pid),
            }
        finally:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()
            self.close()


def _peak_rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise InvocationFailed("no VmHWM in /proc")
