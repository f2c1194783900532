"""A small real HTTP server speaking the OpenAI chat-completions protocol, for tests.

Each request takes the next scripted reply: text, or text computed from the request by a
function (`{"fn": callable(body) -> str}`; streamed as server-sent events when the client
asks for a stream), an HTTP status, or a delay longer than the client's timeout; a streamed reply
can break off (`"break_after": n` chunks, then the connection is closed as a crashed server would).
`models` (when set) is what GET /v1/models lists, e.g. a llama.cpp server's entry. Requests are
recorded so tests can read the prompts the product sent.
"""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeOpenAI:
    def __init__(self):
        self.script: list[dict] = []
        self.requests: list[dict] = []
        self.default = {"text": "NOT_COVERED"}
        self.models: list[dict] | None = None  # GET /v1/models: None answers 404, as servers without it do
        handler = self._handler()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def reply(self, *items: dict) -> FakeOpenAI:
        self.script.extend(items)
        return self

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                if fake.models is None or not self.path.rstrip("/").endswith("/models"):
                    self.send_error(404)
                    return
                payload = json.dumps({"object": "list", "data": fake.models}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_POST(self):
                try:
                    self._respond()
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test): nothing to answer

            def _respond(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                fake.requests.append({"path": self.path, "body": body, "auth": self.headers.get("Authorization")})
                item = fake.script.pop(0) if fake.script else fake.default
                if "sleep" in item:
                    time.sleep(item["sleep"])
                if "status" in item:
                    payload = json.dumps({"error": {"message": item.get("message", "scripted error"), "type": "test"}}).encode()
                    self.send_response(item["status"])
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                text = item["fn"](body) if "fn" in item else item.get("text", "")
                if body.get("stream"):
                    self.send_response(200)
                    self.send_header("Content-Type", "text/event-stream")
                    self.end_headers()
                    for n, i in enumerate(range(0, len(text), 12)):
                        if n == item.get("break_after"):
                            self.close_connection = True
                            self.connection.shutdown(2)  # mid-stream, no final chunk, no [DONE]
                            return
                        chunk = {"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": body.get("model"),
                                 "choices": [{"index": 0, "delta": {"content": text[i:i + 12]}, "finish_reason": None}]}
                        self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                        self.wfile.flush()
                    done = {"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": body.get("model"),
                            "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
                    self.wfile.write(f"data: {json.dumps(done)}\n\ndata: [DONE]\n\n".encode())
                    return
                payload = json.dumps({"id": "c1", "object": "chat.completion", "created": 0, "model": body.get("model"),
                                      "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                                                   "finish_reason": "stop"}],
                                      "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        return Handler
