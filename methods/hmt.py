"""HMT-Net: head / middle / tail group heads with group-wise Gaussian feature perturbation.

Paper: the seed paper of this benchmark (HMT-Net); the module docstring of `ltml_bench/heads/hmt.py`
is the specification (its steps 1-5 and the choices where the paper is silent).
Formula: sigma_g = lambda / mean_{c in g} n_c; during training f_g = f + N(0, sigma_g^2 I) feeds
the group's own head; L_all = eta * BCE(s_hat, y) + (1 - eta) * sum_g BCE_g; inference uses the
clean feature. Code: `ltml_bench.heads.hmt` (HMTHead, HMTLoss).
Defaults: lambda 2 (the seed's best), eta 0.5 (our choice; the seed gives none), tau_h 100,
tau_m 20, class-aware re-sampling (the seed trained with the DB protocol's re-sampling schedule).
Open choices are listed in `ltml_bench.heads.hmt`'s docstring.
"""

from ltml_bench.registry import METHODS, MethodSpec

SPEC = METHODS.register(
    MethodSpec(
        name="hmt",
        title="HMT-Net",
        paper="HMT-Net (seed paper of this benchmark)",
        summary="head/middle/tail group heads with group-wise Gaussian feature perturbation",
        loss="ltml_bench.heads.hmt:HMTLoss",
        head="ltml_bench.heads.hmt:HMTHead",
        sampler="class_aware",
        loss_params={"eta": 0.5},
        head_params={"lam": 2.0, "tau_h": 100, "tau_m": 20},
        sweep={"lam": (0.0, 0.5, 1.0, 2.0, 4.0, 8.0), "eta": (0.25, 0.5, 0.75)},
        reported={"voc_lt": (73.44, 83.86, 79.33, 78.92), "coco_lt": (51.07, 56.68, 52.36, 53.80)},
    ),
    origin="builtin",
)
