"""Routing a placed design with a real router (qrouter), for users without OpenROAD.

* :func:`route_with_qrouter`: fix the DEF up, run qrouter headless with a time limit, collect
  the routed DEF, failed nets and stage times.
* :func:`fix_def_for_qrouter`: the DEF rewrites qrouter 1.4 needs.
* :func:`write_route_record`: the ``<routed>.json`` provenance the ``routed-def`` label reads.
"""

from gsr_eda.route.def_fixup import FixupReport, fix_def_for_qrouter
from gsr_eda.route.qrouter import (
    RouterError,
    RouteResult,
    find_qrouter,
    route_with_qrouter,
    write_route_record,
)

__all__ = [
    "FixupReport",
    "RouteResult",
    "RouterError",
    "find_qrouter",
    "fix_def_for_qrouter",
    "route_with_qrouter",
    "write_route_record",
]
