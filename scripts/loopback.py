"""What the end-to-end scripts (abuse.py, edge.py, crash.py) share: distinct loopback clients,
and a connection to the stack's Redis.

The edge takes each TCP peer address as a client (X-Real-IP), so a test that needs several
clients binds each connection to its own 127.A.B.C source address.
"""
import os
import random
import socket
import ssl
import threading


class Clients:
    """Distinct loopback source addresses, 127.A.B.C with A random per run (never 127.0.x.x)."""

    def __init__(self):
        self.first_octet = random.randint(2, 254)
        self.next_index = random.randrange(0, 200 * 254)
        self.lock = threading.Lock()

    def new(self):
        with self.lock:
            self.next_index += 1
            high, low = divmod(self.next_index, 254)
            return f"127.{self.first_octet}.{high % 256}.{low + 1}"


def redis_socket(port, timeout):
    """A connection to the stack's Redis on 127.0.0.1:`port`: over TLS, verified by the test CA,
    when it speaks TLS only (REDIS_TLS_DIR: `TEST_REDIS_TLS=1 make test`)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    if os.environ.get("REDIS_TLS_DIR"):
        context = ssl.create_default_context(cafile=os.path.join(os.environ["REDIS_TLS_DIR"], "ca.crt"))
        sock = context.wrap_socket(sock, server_hostname="127.0.0.1")
    return sock
