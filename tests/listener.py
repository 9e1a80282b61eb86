"""A loopback TCP listener that records connection attempts (to prove nobody connected)."""

from __future__ import annotations

import socket
import threading


class Listener:
    """A loopback TCP listener that counts connection attempts."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.attempts = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.attempts += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()

    def wait_for(self, count: int, seconds: float = 1.0) -> None:
        """Give attempts in flight up to ``seconds`` to arrive."""
        deadline = threading.Event()
        for _ in range(int(seconds / 0.02)):
            if self.attempts >= count:
                return
            deadline.wait(0.02)
