"""A loopback address whose connections never complete: the way to make an upstream slow to connect.

A listening socket with a backlog of 0 that never accepts takes one connection into its queue; once
that one is in, Linux drops every further SYN (`tcp_abort_on_overflow` is 0 by default), so a
client's connect hangs until its own timeout, as it would towards a host that has gone dark.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def blackhole() -> Iterator[int]:
    """A loopback port on which connecting hangs; yields the port."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = server.getsockname()[1]
    filler = socket.create_connection(("127.0.0.1", port), timeout=5)
    probe = socket.socket()
    probe.settimeout(0.5)
    try:
        try:
            probe.connect(("127.0.0.1", port))
        except (TimeoutError, socket.timeout):
            pass
        else:
            raise RuntimeError("the backlog did not fill: connections to the blackhole complete")
        finally:
            probe.close()
        yield port
    finally:
        filler.close()
        server.close()
