"""Pure metric functions: per-class average precision and head / middle / tail group reports.

Nothing here imports the rest of the package (an import contract checks it).
"""

from ltml_bench.metrics.ap import average_precision
from ltml_bench.metrics.groups import GROUPS, GroupReport, GroupRule, group_report

__all__ = ["GROUPS", "GroupReport", "GroupRule", "average_precision", "group_report"]
