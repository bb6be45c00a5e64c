"""The comparison's modules live in benchmarks/peers and import each other by name."""

from __future__ import annotations

import sys
from pathlib import Path

PEERS = Path(__file__).resolve().parents[3] / "benchmarks" / "peers"
if str(PEERS) not in sys.path:
    sys.path.insert(0, str(PEERS))
