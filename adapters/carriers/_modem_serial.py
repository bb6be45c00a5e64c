"""Opening a modem's serial device: raw mode with termios, then a trio stream.

:func:`open_serial` opens the tty non-blocking and without making it the process's
controlling terminal, puts it in raw mode (no echo, no line editing, no CR/LF
translation, 8N1, the receiver on, modem control lines ignored) at the given baud
rate, discards whatever the device sent before anyone listened, and wraps the file
descriptor in a ``trio.lowlevel.FdStream``, which reads and writes it without blocking
the event loop. A pseudo-terminal (a modem emulator) takes the same settings.
"""

from __future__ import annotations

import os
import termios
from typing import Final

import trio

__all__ = ["BAUD_RATES", "open_serial"]

BAUD_RATES: Final = {
    rate: getattr(termios, f"B{rate}")
    for rate in (
        9600,
        19200,
        38400,
        57600,
        115200,
        230400,
        460800,
        921600,
        1000000,
        2000000,
        3000000,
        4000000,
    )
    if hasattr(termios, f"B{rate}")
}
"""The baud rates this platform's termios can set."""

# The indexes of tcgetattr's list: iflag, oflag, cflag, lflag, ispeed, ospeed, cc.
_IFLAG, _OFLAG, _CFLAG, _LFLAG, _ISPEED, _OSPEED, _CC = range(7)


def open_serial(path: str, baud_rate: int) -> trio.lowlevel.FdStream:
    """Open the tty at ``path`` in raw mode at ``baud_rate``; raises ``OSError``."""
    speed = BAUD_RATES[baud_rate]
    fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        attributes = termios.tcgetattr(fd)
        attributes[_IFLAG] &= ~(
            termios.IGNBRK
            | termios.BRKINT
            | termios.PARMRK
            | termios.ISTRIP
            | termios.INLCR
            | termios.IGNCR
            | termios.ICRNL
            | termios.IXON
            | termios.IXOFF
        )
        attributes[_OFLAG] &= ~termios.OPOST
        attributes[_LFLAG] &= ~(
            termios.ECHO | termios.ECHONL | termios.ICANON | termios.ISIG | termios.IEXTEN
        )
        attributes[_CFLAG] &= ~(termios.CSIZE | termios.PARENB | termios.CSTOPB)
        attributes[_CFLAG] |= termios.CS8 | termios.CREAD | termios.CLOCAL
        attributes[_ISPEED] = attributes[_OSPEED] = speed
        cc = attributes[_CC]
        cc[termios.VMIN] = 1
        cc[termios.VTIME] = 0
        termios.tcsetattr(fd, termios.TCSANOW, attributes)
        termios.tcflush(fd, termios.TCIOFLUSH)
        return trio.lowlevel.FdStream(fd)
    except BaseException:
        os.close(fd)
        raise
