"""The in-memory model of a placed design, shared by ingest, features, the store and flow hooks."""

from gsr_eda.design.gcell import GcellGrid, cells_from_gcell_map, gcell_map_from_cells, span_coverage
from gsr_eda.design.placed_design import PlacedDesign, RoutingCapacity

__all__ = [
    "GcellGrid",
    "PlacedDesign",
    "RoutingCapacity",
    "cells_from_gcell_map",
    "gcell_map_from_cells",
    "span_coverage",
]
