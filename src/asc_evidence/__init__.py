"""asc-evidence: official English adult social care statistics turned into benchmarking evidence.

Submodules are named after what they hold: ``fetch`` (official files), ``build`` (processed tables),
``councils`` (register and lookup), ``sources.*`` (one parser per publication), ``stats.*`` (one
module per statistical family), ``indicators``, ``verdict`` and ``report``.
"""

from asc_evidence.build import load
from asc_evidence.councils import Council, lookup

__all__ = ["Council", "load", "lookup"]
__version__ = "0.1.0"
