"""Speed measurements (`ltml-bench bench`): ratios measured side by side in one process."""
