"""Training: the one loop (`loop`) and what it calls: model, backbones, samplers, schedule, checkpoints, execution (one process or torchrun) and the probe protocol."""
