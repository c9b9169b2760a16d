"""A small OpenAI-compatible server for tests: POST /v1/chat/completions on 127.0.0.1 (a free
port), answering from a script the test writes.

Each test pushes what the next calls return, in order: `reply(content)` for a completion,
`fail(status, ...)` for an HTTP error (with Retry-After headers if wanted),
`refuse_json_schema()` for a server that has no structured outputs, and `delay=` on any of them
to answer late (counted from the request's arrival). A call with nothing scripted gets a 500
that the client does not retry, so a test that expects fewer calls fails loudly. `requests`
records every request received. Connections are kept alive (HTTP/1.1) and answers go out
without Nagle's wait, so an answer takes its delay and not a delayed ACK more.

Use the `openai_server` fixture: it yields a running server whose `base_url` is
"http://127.0.0.1:PORT/v1" and stops it after the test.
"""

import json
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

COMPLETIONS_PATH = "/v1/chat/completions"
# Tells the client to retry at once (the openai client prefers retry-after-ms to Retry-After).
RETRY_NOW = {"retry-after-ms": "1"}


@dataclass(frozen=True)
class ScriptedAnswer:
    """What the server answers to one call."""

    status: int
    body: bytes = b""
    headers: dict = field(default_factory=dict)
    delay: float = 0.0
    # A completion's message, finish reason, usage and model, put in its envelope when served.
    completion: dict | None = None


@dataclass(frozen=True)
class ReceivedRequest:
    """One request as the server received it; `body` is the decoded JSON (None if it was not),
    `client` the (host, port) it came from: requests on one kept-alive connection share it."""

    method: str
    path: str
    headers: dict
    body: object
    client: tuple | None = None

    @property
    def messages_text(self):
        """The content of all messages, joined: what the model was asked."""
        messages = (self.body or {}).get("messages") or []
        return "\n".join(str(message.get("content") or "") for message in messages)


class OpenAIServer:
    """A scripted OpenAI-compatible chat completions endpoint on loopback."""

    def __init__(self):
        self._answers = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._connections = set()
        self.requests: list[ReceivedRequest] = []
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        # A handler still sleeping on a delay must not hold up the test's teardown.
        self._httpd.daemon_threads = True
        self._httpd.block_on_close = False
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def base_url(self):
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        # Hang up kept-alive connections too: a client that keeps its connections (one per
        # process) must not reach this stopped server's script through one of them later.
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._thread.join(timeout=5)

    # --- the script -----------------------------------------------------------------------

    def reply(
        self,
        content,
        *,
        prompt_tokens=120,
        completion_tokens=45,
        model=None,
        finish_reason="stop",
        delay=0.0,
    ):
        """The next call gets a completion whose message content is `content` (a string, or
        any JSON value, which is encoded). `model` is what the server says it ran (default:
        the requested model)."""
        if not isinstance(content, str) and content is not None:
            content = json.dumps(content)
        completion = {
            "message": {"role": "assistant", "content": content},
            "finish_reason": finish_reason,
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
            "model": model,
        }
        self._push(ScriptedAnswer(200, delay=delay, completion=completion))

    def fail(self, status, message="scripted failure", *, headers=None, delay=0.0):
        """The next call gets an HTTP error with an OpenAI-style error body."""
        body = {"error": {"message": message, "type": "server_error", "code": str(status)}}
        self._push(ScriptedAnswer(status, json.dumps(body).encode(), headers or {}, delay))

    def refuse_json_schema(self):
        """The next call gets the 400 a server without structured outputs gives json_schema."""
        self.fail(
            400,
            "response_format type 'json_schema' is not supported; use 'json_object'",
        )

    def raw(self, status, body: bytes, *, headers=None, delay=0.0):
        """The next call gets exactly this body."""
        self._push(ScriptedAnswer(status, body, headers or {}, delay))

    @property
    def pending(self):
        """How many scripted answers no call has taken yet."""
        with self._lock:
            return len(self._answers)

    def _push(self, answer):
        with self._lock:
            self._answers.append(answer)

    # --- serving --------------------------------------------------------------------------

    def _answer(self, request):
        with self._lock:
            self.requests.append(request)
            if request.method != "POST" or request.path != COMPLETIONS_PATH:
                return ScriptedAnswer(404, b'{"error": {"message": "not found"}}')
            scripted = self._answers.popleft() if self._answers else None
        if scripted is None:
            body = {"error": {"message": "the test scripted no answer for this call"}}
            return ScriptedAnswer(500, json.dumps(body).encode(), {"x-should-retry": "false"})
        if scripted.completion is not None:
            return _completion(scripted, request)
        return scripted

    def _wait(self, seconds):
        self._stopping.wait(seconds)


def _completion(scripted, request):
    """Fill in the envelope of a scripted completion (id, model, timestamps)."""
    completion = scripted.completion
    model = completion["model"] or (request.body or {}).get("model", "")
    body = {
        "id": f"chatcmpl-test-{time.monotonic_ns()}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": completion["message"],
                "finish_reason": completion["finish_reason"],
                "logprobs": None,
            }
        ],
        "usage": completion["usage"],
    }
    return ScriptedAnswer(200, json.dumps(body).encode(), scripted.headers, scripted.delay)


def _handler_for(server):
    class Handler(BaseHTTPRequestHandler):
        # Keep-alive, as real endpoints do: the client reuses its connection between calls.
        protocol_version = "HTTP/1.1"
        # The headers and the body are two writes; with Nagle's algorithm the body would wait
        # for the client's delayed ACK of the headers (~40 ms on Linux) on top of `delay`.
        disable_nagle_algorithm = True

        def setup(self):
            super().setup()
            with server._lock:
                server._connections.add(self.connection)

        def finish(self):
            with server._lock:
                server._connections.discard(self.connection)
            super().finish()

        def do_POST(self):
            self._serve()

        def do_GET(self):
            self._serve()

        def _serve(self):
            # The delay counts from the request's arrival: reading and decoding it is part of
            # the server's answer time, not extra time on top of it.
            arrived = time.monotonic()
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = None
            request = ReceivedRequest(
                method=self.command,
                path=self.path,
                headers={name.lower(): value for name, value in self.headers.items()},
                body=body,
                client=tuple(self.client_address[:2]),
            )
            answer = server._answer(request)
            if answer.delay:
                server._wait(answer.delay - (time.monotonic() - arrived))
            try:
                self.send_response(answer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer.body)))
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(answer.body)
            except OSError:
                # The client gave up (its timeout) before the delayed answer came, or the
                # server was stopped meanwhile.
                self.close_connection = True

        def log_message(self, format, *args):
            pass

    return Handler


@pytest.fixture
def openai_server():
    """A running scripted OpenAI-compatible server on 127.0.0.1, stopped after the test."""
    server = OpenAIServer().start()
    try:
        yield server
    finally:
        server.stop()
