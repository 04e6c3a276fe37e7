"""Whether a host is this machine, and taking a listening port before anything else starts. Standard library only,
so settings classes and command lines can check a host without importing a server."""

from __future__ import annotations

import ipaddress
import socket

from support_core.errors import ConfigError

__all__ = ["bind_socket", "is_loopback"]


def is_loopback(host: str) -> bool:
    """Whether `host` names this machine: localhost, 127.0.0.0/8 or ::1 (also written `[::1]`)."""
    name = host.strip().lower().rstrip(".")
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name.strip("[]")).is_loopback
    except ValueError:
        return False


def bind_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to `host:port`, for a program to take its port before it starts anything else; a
    `ConfigError` in one sentence when it cannot (uvicorn would only log it after the program's start-up)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP named, not 0: accepted connections inherit it, and asyncio turns Nagle's algorithm off
    # (TCP_NODELAY) only on sockets that say TCP. Without it a response written as headers then body waited for the
    # client's delayed ACK: 40 ms on every request of a kept-alive connection.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        why = "another program is using that port" if exc.errno == 98 else (exc.strerror or str(exc))
        raise ConfigError(f"Cannot listen on {host}:{port}: {why}. Choose another with --port (or --host).") from None
    return sock
