"""What the end-to-end scripts (abuse.py, edge.py) share: distinct loopback clients.

The edge takes each TCP peer address as a client (X-Real-IP), so a test that needs several
clients binds each connection to its own 127.A.B.C source address.
"""
import random
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
