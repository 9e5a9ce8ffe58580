"""Run folders and result records: the on-disk format that training writes and reporting reads."""
