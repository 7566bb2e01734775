"""What the two fake upstreams share: their command-line options and how a delay is spread.

`loadtest/fake_upstream.py` (scripted behaviours, for the tests) and `loadtest/fast_upstream.py`
(the load test's lean server) take the same options and wait the same time for the same request.
"""

from __future__ import annotations

import argparse
import zlib

import orjson


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument("--text", default="Hello from the fake upstream.")
    parser.add_argument("--size", type=int, default=0, help="pad the answer text to this many bytes")
    parser.add_argument("--chunks", type=int, default=16, help="content chunks per streamed answer")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before each answer")
    parser.add_argument("--jitter", type=float, default=0.0, help="spread of each delay, as a fraction of it (0.5: 50-150%%)")


def spread(delay: float, jitter: float, body: dict) -> float:
    """`delay` moved within delay * (1 - jitter) .. delay * (1 + jitter) by the request's last message.

    A function of the message, not a random draw: the same request waits as long whichever proxy it
    came through, so the percentiles of contenders sent the same requests compare like with like."""
    return delay * (1 - jitter + 2 * jitter * unit(body)) if jitter else delay


def unit(body: dict) -> float:
    """A number in [0, 1) that depends only on the request's last message."""
    messages = body.get("messages")
    last = messages[-1] if isinstance(messages, list) and messages else None
    content = last.get("content") if isinstance(last, dict) else None
    return zlib.crc32(orjson.dumps(content)) / 2**32
