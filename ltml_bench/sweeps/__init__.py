"""Sweeps: many runs over methods x datasets x seeds x grids, launched locally or on SLURM."""
