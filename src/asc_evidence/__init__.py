"""asc-evidence: official English adult social care statistics turned into benchmarking evidence."""

from asc_evidence.build import build, load
from asc_evidence.councils import Council, lookup
from asc_evidence.fetch import fetch

__all__ = ["Council", "build", "fetch", "load", "lookup"]
__version__ = "0.1.0"
