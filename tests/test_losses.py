"""Tests of `ltml_bench.losses`: every loss against an independent reference (values and gradients).

References are torchvision / timm implementations where they exist, sklearn's log loss, and naive
closed forms written here element by element with python loops in float64 (brute-force pairwise
sums for the ranking losses). Inputs are small hand-written tensors: 4 images x 4 classes with
counts [500, 60, 8, 2] out of N = 600 images, including an image with no positive label (row 1)
and an image with no negative label (row 2).
"""

from __future__ import annotations

import inspect
import math

import pytest
import torch
import torch.nn.functional as F

from ltml_bench.errors import ConfigError
from ltml_bench.losses import (
    DB_FOCAL_DATASET_DEFAULTS,
    LOSSES,
    AsymmetricLoss,
    CircleLoss,
    ClassBalancedFocalLoss,
    DistributionBalancedFocalLoss,
    ERMLoss,
    FocalLoss,
    LDAMLoss,
    LSEPLoss,
    ReweightedBCELoss,
    ZLPRLoss,
    create_loss,
)

COUNTS = [500, 60, 8, 2]
N = 600
LOGITS = torch.tensor([
    [2.0, -1.0, 0.5, -3.0],
    [-0.3, 1.2, -2.0, 0.1],   # no positive
    [0.7, 0.2, -0.4, 1.5],    # no negative
    [3.0, -2.5, 1.0, -0.2],
])
COSINES = torch.tensor([     # cosine scores for ldam / circle
    [0.9, -0.2, 0.35, -0.7],
    [-0.1, 0.6, -0.8, 0.05],
    [0.3, 0.1, -0.25, 0.8],
    [0.75, -0.6, 0.4, -0.05],
])
TARGETS = torch.tensor([
    [1.0, 0.0, 1.0, 0.0],
    [0.0, 0.0, 0.0, 0.0],
    [1.0, 1.0, 1.0, 1.0],
    [0.0, 1.0, 0.0, 1.0],
])
EXTREME = torch.tensor([
    [100.0, -100.0, 1e4, -1e4],
    [-1e4, 1e4, -100.0, 100.0],
    [1e4, -1e4, 100.0, -100.0],
    [-100.0, 100.0, -1e4, 1e4],
])
EXTREME_TARGETS = torch.tensor([
    [1.0, 0.0, 1.0, 0.0],
    [1.0, 0.0, 1.0, 0.0],
    [0.0, 1.0, 0.0, 1.0],
    [0.0, 0.0, 0.0, 0.0],
])
COSINE_LOSSES = {"ldam", "circle"}


def inputs_for(name: str) -> torch.Tensor:
    return COSINES if name in COSINE_LOSSES else LOGITS


def ours(loss: torch.nn.Module, x: torch.Tensor, y: torch.Tensor = TARGETS):
    """(value, gradient w.r.t. x) of one of our losses, float32 input."""
    x = x.clone().requires_grad_(True)
    value = loss(x, y)
    (grad,) = torch.autograd.grad(value, x)
    return value.detach(), grad


def reference(fn, x: torch.Tensor, y: torch.Tensor = TARGETS):
    """(value, gradient) of a reference `fn(x, y)`, evaluated in float64."""
    x = x.double().clone().requires_grad_(True)
    value = fn(x, y.double())
    (grad,) = torch.autograd.grad(value, x)
    return value.detach(), grad


def assert_close(got, want, rtol=1e-5, atol=1e-6):
    (gv, gg), (wv, wg) = got, want
    torch.testing.assert_close(gv.double(), wv.double(), rtol=rtol, atol=atol)
    torch.testing.assert_close(gg.double(), wg.double(), rtol=rtol, atol=atol)


# ---------------------------------------------------------------- naive element-wise helpers (float64)

def bce(z, y):
    """Stable closed-form BCE of one logit: max(z, 0) - z y + log(1 + exp(-|z|))."""
    return torch.clamp(z, min=0) - z * y + torch.log1p(torch.exp(-torch.abs(z)))


def loop_mean(fn, x, y):
    """mean over all (b, k) of fn(b, k, x[b, k], y[b, k]) with explicit python loops."""
    total = x.new_zeros(())
    B, C = x.shape
    for b in range(B):
        for k in range(C):
            total = total + fn(b, k, x[b, k], y[b, k])
    return total / (B * C)


# ---------------------------------------------------------------- erm / rw

def test_erm_matches_sklearn_log_loss_and_naive_gradient():
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    value, grad = ours(ERMLoss(COUNTS, N), LOGITS)
    p = torch.sigmoid(LOGITS.double())
    want = sklearn_metrics.log_loss(TARGETS.flatten().numpy(), p.flatten().numpy())
    assert value.item() == pytest.approx(want, rel=1e-6)
    assert_close((value, grad), reference(lambda x, y: loop_mean(lambda b, k, z, t: bce(z, t), x, y), LOGITS))
    # analytic gradient of the mean BCE: (sigmoid(z) - y) / (B C)
    torch.testing.assert_close(grad, ((torch.sigmoid(LOGITS) - TARGETS) / LOGITS.numel()), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("power", [0.5, 1.0])
def test_rw_matches_naive_weighted_bce(power):
    # the reference code's raw weights (ResampleLoss, reweight_func="sqrt_inv", no weight_norm)
    w = [(N / n) ** power for n in COUNTS]
    got = ours(ReweightedBCELoss(COUNTS, N, power=power), LOGITS)
    assert_close(got, reference(lambda x, y: loop_mean(lambda b, k, z, t: w[k] * bce(z, t), x, y), LOGITS))


def test_rw_default_weights_are_raw_sqrt_inverse_frequency():
    loss = ReweightedBCELoss(COUNTS, N)
    want = torch.tensor([math.sqrt(600 / 500), math.sqrt(10.0), math.sqrt(75.0), math.sqrt(300.0)])
    torch.testing.assert_close(loss.class_weight, want.float())
    assert loss.class_weight.mean().item() > 7.0  # several times ERM's loss scale, as in the reference


@pytest.mark.parametrize("power", [0.5, 1.0])
def test_rw_mean_normalisation_option(power):
    raw = [(N / n) ** power for n in COUNTS]
    w = [r / (sum(raw) / len(raw)) for r in raw]
    assert sum(w) / len(w) == pytest.approx(1.0)
    got = ours(ReweightedBCELoss(COUNTS, N, power=power, normalize="mean"), LOGITS)
    assert_close(got, reference(lambda x, y: loop_mean(lambda b, k, z, t: w[k] * bce(z, t), x, y), LOGITS))


def test_rw_rejects_unknown_normalisation():
    with pytest.raises(ConfigError, match="normalize"):
        ReweightedBCELoss(COUNTS, N, normalize="max")


def test_rw_power_zero_is_erm():
    assert_close(ours(ReweightedBCELoss(COUNTS, N, power=0.0), LOGITS), ours(ERMLoss(COUNTS, N), LOGITS))


# ---------------------------------------------------------------- focal / cb_focal

def naive_focal(z, t, gamma=2.0, scale=2.0):
    p = torch.sigmoid(z)
    pt = p * t + (1 - p) * (1 - t)
    return scale * (1 - pt) ** gamma * bce(z, t)


@pytest.mark.parametrize("scale", [1.0, 2.0])
def test_focal_matches_torchvision_up_to_the_constant(scale):
    from torchvision.ops import sigmoid_focal_loss

    got = ours(FocalLoss(COUNTS, N, scale=scale), LOGITS)
    want = reference(
        lambda x, y: scale * sigmoid_focal_loss(x, y, alpha=-1, gamma=2.0, reduction="mean"), LOGITS
    )
    assert_close(got, want)
    assert_close(got, reference(lambda x, y: loop_mean(lambda b, k, z, t: naive_focal(z, t, 2.0, scale), x, y),
                                LOGITS))


def test_focal_default_scale_is_two_and_not_detached():
    loss = FocalLoss(COUNTS, N)
    assert (loss.gamma, loss.scale, loss.reduction) == (2.0, 2.0, "mean")
    # a detached focusing weight would give this (different) gradient
    x = LOGITS.double().requires_grad_(True)
    p = torch.sigmoid(x)
    w = (1 - (p * TARGETS + (1 - p) * (1 - TARGETS))).detach() ** 2
    detached = (2 * w * F.binary_cross_entropy_with_logits(x, TARGETS.double(), reduction="none")).mean()
    (g_detached,) = torch.autograd.grad(detached, x)
    _, grad = ours(loss, LOGITS)
    assert not torch.allclose(grad.double(), g_detached, atol=1e-4)


def test_cb_focal_db_convention_matches_naive_loop():
    beta = 0.9
    c = [(1 - beta) / (1 - beta ** n) for n in COUNTS]

    def image_weight(b, y):
        pos = [k for k in range(len(COUNTS)) if y[b, k] > 0.5]
        return sum(c[k] for k in pos) / len(pos) if pos else sum(c) / len(c)

    def fn(x, y):
        return loop_mean(lambda b, k, z, t: image_weight(b, y) * naive_focal(z, t), x, y)

    loss = ClassBalancedFocalLoss(COUNTS, N)
    assert (loss.convention, loss.beta) == ("db", 0.9)
    assert_close(ours(loss, LOGITS), reference(fn, LOGITS))


def test_cb_focal_cui_convention_matches_naive_loop():
    beta = 0.9999
    c = [(1 - beta) / (1 - beta ** n) for n in COUNTS]
    w = [ck * len(c) / sum(c) for ck in c]
    assert sum(w) == pytest.approx(len(COUNTS))
    loss = ClassBalancedFocalLoss(COUNTS, N, convention="cui")
    assert loss.beta == 0.9999
    assert_close(ours(loss, LOGITS), reference(lambda x, y: loop_mean(lambda b, k, z, t: w[k] * naive_focal(z, t), x, y),
                                               LOGITS))


# ---------------------------------------------------------------- db_focal

def naive_db(x, y, *, alpha, beta, mu, kappa, lam, gamma=2.0, scale=2.0, paper_form=False):
    C = len(COUNTS)

    def fn(b, k, z, t):
        denom = sum(float(y[b, j]) / COUNTS[j] for j in range(C))
        r = (1.0 / COUNTS[k]) / denom if denom > 0 else math.inf
        w = alpha + 1.0 / (1.0 + math.exp(-beta * (r - mu))) if r != math.inf else alpha + 1.0
        v = kappa * math.log(N / COUNTS[k] - 1.0) / (1.0 if paper_form else lam)
        zz = z - v
        if t > 0.5:
            loss = torch.log1p(torch.exp(-zz)) * torch.sigmoid(-zz) ** gamma
        else:
            loss = torch.log1p(torch.exp(lam * zz)) / lam * torch.sigmoid(lam * zz) ** gamma
        return scale * w * loss

    return loop_mean(fn, x, y)


@pytest.mark.parametrize("dataset", ["voc_lt", "coco_lt"])
def test_db_focal_matches_naive_loop(dataset):
    params = DB_FOCAL_DATASET_DEFAULTS[dataset]
    got = ours(DistributionBalancedFocalLoss(COUNTS, N, **params), LOGITS)
    assert_close(got, reference(lambda x, y: naive_db(x, y, **params), LOGITS))


def test_db_focal_paper_form_matches_naive_loop():
    params = DB_FOCAL_DATASET_DEFAULTS["voc_lt"]
    got = ours(DistributionBalancedFocalLoss(COUNTS, N, paper_form=True, **params), LOGITS)
    assert_close(got, reference(lambda x, y: naive_db(x, y, paper_form=True, **params), LOGITS))


@pytest.mark.parametrize("dataset", ["voc_lt", "coco_lt"])
def test_db_focal_matches_timm(dataset):
    timm_loss = pytest.importorskip("timm.loss")
    if not hasattr(timm_loss, "DistributionBalancedLoss"):
        pytest.skip("timm has no DistributionBalancedLoss")
    p = DB_FOCAL_DATASET_DEFAULTS[dataset]
    ref = timm_loss.DistributionBalancedLoss(
        COUNTS, N, map_alpha=p["alpha"], map_beta=p["beta"], map_mu=p["mu"], neg_scale=p["lam"],
        init_bias=p["kappa"], focal_gamma=2.0, focal_balance=2.0, reduction="mean",
    )
    ref_out = ours(ref, LOGITS)
    assert_close(ours(DistributionBalancedFocalLoss(COUNTS, N, **p), LOGITS), ref_out)
    assert_close(ours(DistributionBalancedFocalLoss(COUNTS, N, **p), EXTREME, EXTREME_TARGETS),
                 ours(ref, EXTREME, EXTREME_TARGETS))


def test_db_focal_defaults_are_voc():
    loss = DistributionBalancedFocalLoss(COUNTS, N)
    for key, value in DB_FOCAL_DATASET_DEFAULTS["voc_lt"].items():
        assert getattr(loss, key) == value
    assert (loss.gamma, loss.scale, loss.paper_form, loss.reduction) == (2.0, 2.0, False, "mean")


def test_db_focal_image_without_positive_gets_max_weight():
    loss = DistributionBalancedFocalLoss(COUNTS, N)
    w = loss.rebalance_weight(TARGETS)
    assert torch.isfinite(w).all()
    torch.testing.assert_close(w[1], torch.full((4,), 1.1))
    # single-positive image on the rarest class: r = 1 on that class
    w1 = loss.rebalance_weight(torch.tensor([[0.0, 0.0, 0.0, 1.0]]))
    assert w1[0, 3].item() == pytest.approx(0.1 + 1 / (1 + math.exp(-10 * 0.7)), rel=1e-6)


def test_db_focal_guards_class_in_every_image_and_in_none():
    loss = DistributionBalancedFocalLoss([N, 0, 8, 2], N)
    assert torch.isfinite(loss.logit_shift).all() and torch.isfinite(loss.inv_freq).all()
    value, grad = ours(loss, EXTREME, EXTREME_TARGETS)
    assert torch.isfinite(value) and torch.isfinite(grad).all()


# ---------------------------------------------------------------- asl

def naive_asl(x, y, gamma_neg=4.0, gamma_pos=0.0, clip=0.05, eps=1e-8):
    total = x.new_zeros(())
    B, C = x.shape
    for b in range(B):
        for k in range(C):
            p = torch.sigmoid(x[b, k])
            pf = float(p.detach())
            if y[b, k] > 0.5:
                total = total - (1 - pf) ** gamma_pos * torch.log(torch.clamp(p, min=eps))
            else:
                pm = max(pf - clip, 0.0)  # shifted probability, weight computed without gradient
                total = total - pm ** gamma_neg * torch.log(torch.clamp(1 - p + clip, max=1.0, min=eps))
    return total


def test_asl_default_sum_matches_naive_loop():
    loss = AsymmetricLoss(COUNTS, N)
    assert (loss.gamma_neg, loss.gamma_pos, loss.clip, loss.eps, loss.reduction) == (4.0, 0.0, 0.05, 1e-8, "sum")
    assert_close(ours(loss, LOGITS), reference(naive_asl, LOGITS))


@pytest.mark.parametrize("x,y", [(LOGITS, TARGETS), (EXTREME, EXTREME_TARGETS)])
def test_asl_matches_timm(x, y):
    timm_loss = pytest.importorskip("timm.loss")
    B, C = x.shape
    # timm >= 1.0.31 takes `reduction` (default sum / B); older versions always return the sum
    has_reduction = "reduction" in inspect.signature(timm_loss.AsymmetricLossMultiLabel).parameters
    extra = {"reduction": "sum"} if has_reduction else {}
    ref = timm_loss.AsymmetricLossMultiLabel(gamma_neg=4, gamma_pos=0, clip=0.05, eps=1e-8,
                                             disable_torch_grad_focal_loss=True, **extra)
    rv, rg = ours(ref, x, y)
    rv, rg = rv / B, rg / B  # sum / B
    assert_close(ours(AsymmetricLoss(COUNTS, N), x, y), (rv * B, rg * B))
    assert_close(ours(AsymmetricLoss(COUNTS, N, reduction="batchmean"), x, y), (rv, rg))
    assert_close(ours(AsymmetricLoss(COUNTS, N, reduction="mean"), x, y), (rv / C, rg / C))


def test_asl_leaves_global_autograd_state_alone():
    loss = AsymmetricLoss(COUNTS, N)
    x = LOGITS.clone().requires_grad_(True)
    loss(x, TARGETS)
    assert torch.is_grad_enabled()
    with torch.no_grad():
        out = loss(x, TARGETS)
        assert not torch.is_grad_enabled()
    assert not out.requires_grad


# ---------------------------------------------------------------- zlpr

def naive_zlpr(x, y):
    total = x.new_zeros(())
    B, C = x.shape
    for b in range(B):
        s_neg = x.new_zeros(())
        s_pos = x.new_zeros(())
        for k in range(C):
            if y[b, k] > 0.5:
                s_pos = s_pos + torch.exp(-x[b, k])
            else:
                s_neg = s_neg + torch.exp(x[b, k])
        total = total + torch.log(1 + s_neg) + torch.log(1 + s_pos)
    return total / B


def test_zlpr_matches_naive_closed_form():
    assert_close(ours(ZLPRLoss(COUNTS, N), LOGITS), reference(naive_zlpr, LOGITS))


@pytest.mark.parametrize("x,y", [(LOGITS, TARGETS), (EXTREME, EXTREME_TARGETS)])
def test_zlpr_matches_timm(x, y):
    timm_loss = pytest.importorskip("timm.loss")
    if not hasattr(timm_loss, "ZlprLoss"):
        pytest.skip("timm has no ZlprLoss")
    assert_close(ours(ZLPRLoss(COUNTS, N), x, y), ours(timm_loss.ZlprLoss(), x, y))


# ---------------------------------------------------------------- lsep / circle (brute-force pairs)

def pairwise(x, y, pair_exponent):
    """mean_b log(1 + sum_{v neg} sum_{u pos} exp(pair_exponent(b, v, u))), double python loop."""
    total = x.new_zeros(())
    B, C = x.shape
    for b in range(B):
        s = x.new_zeros(())
        for v in range(C):
            for u in range(C):
                if y[b, v] < 0.5 and y[b, u] > 0.5:
                    s = s + torch.exp(pair_exponent(b, v, u))
        total = total + torch.log(1 + s)
    return total / B


def test_lsep_matches_brute_force_pairs():
    want = reference(lambda x, y: pairwise(x, y, lambda b, v, u: x[b, v] - x[b, u]), LOGITS)
    got = ours(LSEPLoss(COUNTS, N), LOGITS)
    assert_close(got, want)
    assert (got[1][1] == 0).all() and (got[1][2] == 0).all()  # rows without pairs: zero gradient


def circle_reference(m=0.25, g=32.0):
    def fn(x, y):
        a = x.detach()

        def exponent(b, v, u):
            alpha_n = max(float(a[b, v]) + m, 0.0)
            alpha_p = max(1 + m - float(a[b, u]), 0.0)
            return g * alpha_n * (x[b, v] - m) - g * alpha_p * (x[b, u] - 1 + m)

        return pairwise(x, y, exponent)

    return fn


@pytest.mark.parametrize("m,g", [(0.25, 32.0), (0.4, 64.0)])
def test_circle_matches_brute_force_pairs(m, g):
    got = ours(CircleLoss(COUNTS, N, margin=m, gamma=g), COSINES)
    assert_close(got, reference(circle_reference(m, g), COSINES), rtol=1e-5, atol=1e-5)
    assert (got[1][1] == 0).all() and (got[1][2] == 0).all()


def test_pair_losses_rows_without_pairs_are_zero():
    no_pairs = torch.tensor([[0.0, 0.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.0]])
    for loss in (LSEPLoss(COUNTS, N), CircleLoss(COUNTS, N)):
        value, grad = ours(loss, LOGITS[:2], no_pairs)
        assert value.item() == 0.0 and (grad == 0).all()


# ---------------------------------------------------------------- ldam

def ldam_reference(weights=None, max_margin=0.5, scale=30.0):
    margins = [max_margin * (min(COUNTS) / n) ** 0.25 for n in COUNTS]
    w = weights or [1.0] * len(COUNTS)
    return lambda x, y: loop_mean(lambda b, k, s, t: w[k] * bce(scale * (s - margins[k] * t), t), x, y)


def test_ldam_matches_naive_loop():
    loss = LDAMLoss(COUNTS, N)
    assert loss.margin.max().item() == pytest.approx(0.5)
    torch.testing.assert_close(loss.margin * torch.tensor(COUNTS, dtype=torch.float32) ** 0.25,
                               torch.full((4,), 0.5 * 2 ** 0.25))  # Delta_k n_k^(1/4) is constant
    assert_close(ours(loss, COSINES), reference(ldam_reference(), COSINES))


def test_ldam_drw_switches_on_with_set_epoch():
    beta = 0.9999
    c = [(1 - beta) / (1 - beta ** n) for n in COUNTS]
    w = [ck / (sum(c) / len(c)) for ck in c]
    loss = LDAMLoss(COUNTS, N, drw=True, drw_start_epoch=5)
    loss.set_epoch(4)
    assert not loss.drw_active
    assert_close(ours(loss, COSINES), reference(ldam_reference(), COSINES))
    loss.set_epoch(5)
    assert loss.drw_active
    assert_close(ours(loss, COSINES), reference(ldam_reference(w), COSINES))
    off = LDAMLoss(COUNTS, N)  # drw=False: set_epoch never activates
    off.set_epoch(1000)
    assert not off.drw_active


# ---------------------------------------------------------------- all losses

@pytest.mark.parametrize("name", sorted(LOSSES))
def test_extreme_inputs_give_finite_values_and_gradients(name):
    loss = create_loss(name, COUNTS, N)
    value, grad = ours(loss, EXTREME, EXTREME_TARGETS)
    assert torch.isfinite(value), value
    assert torch.isfinite(grad).all(), grad


@pytest.mark.parametrize("name,kwargs", [("focal", {"gamma": 0.5}), ("cb_focal", {"gamma": 0.5}),
                                         ("db_focal", {"gamma": 0.5}), ("asl", {"gamma_neg": 0.5})])
def test_fractional_gamma_is_finite_at_saturation(name, kwargs):
    value, grad = ours(create_loss(name, COUNTS, N, **kwargs), EXTREME, EXTREME_TARGETS)
    assert torch.isfinite(value) and torch.isfinite(grad).all()


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_bf16_input_is_computed_in_float32(name):
    loss = create_loss(name, COUNTS, N)
    x = inputs_for(name).bfloat16().requires_grad_(True)
    value = loss(x, TARGETS.bfloat16())
    assert value.dtype == torch.float32 and value.ndim == 0
    want = loss(x.detach().float(), TARGETS)
    assert value.item() == pytest.approx(want.item(), rel=1e-6, abs=1e-7)
    (grad,) = torch.autograd.grad(value, x)
    assert grad.dtype == torch.bfloat16 and torch.isfinite(grad.float()).all()


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_float64_gradcheck(name):
    loss = create_loss(name, COUNTS, N).double()
    x = (inputs_for(name) + 0.01).double().requires_grad_(True)
    assert loss(x, TARGETS.double()).dtype == torch.float64
    if name == "asl":  # detached weights: the analytic gradient is not the numerical one by design
        return
    if name == "circle":  # detached alphas too
        return
    assert torch.autograd.gradcheck(lambda t: loss(t, TARGETS.double()), (x,), eps=1e-6, atol=1e-5)


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_buffers_move_with_to(name):
    loss = create_loss(name, COUNTS, N)
    moved = loss.to("meta")
    assert all(b.device.type == "meta" for b in moved.buffers())
    assert moved.state_dict() == {}  # statistics are derived, not checkpointed


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
@pytest.mark.parametrize("name", sorted(LOSSES))
def test_cuda_matches_cpu(name):
    loss = create_loss(name, COUNTS, N)
    cpu = ours(loss, inputs_for(name))
    gpu = ours(loss.to("cuda"), inputs_for(name).cuda(), TARGETS.cuda())
    assert_close((gpu[0].cpu(), gpu[1].cpu()), cpu, rtol=1e-4, atol=1e-5)


def test_registry_names_and_classes():
    assert LOSSES == {
        "erm": ERMLoss, "rw": ReweightedBCELoss, "focal": FocalLoss, "cb_focal": ClassBalancedFocalLoss,
        "db_focal": DistributionBalancedFocalLoss, "asl": AsymmetricLoss, "zlpr": ZLPRLoss,
        "lsep": LSEPLoss, "ldam": LDAMLoss, "circle": CircleLoss,
    }
    for name, cls in LOSSES.items():
        assert cls.__doc__ and len(cls.__doc__) > 100, name
        assert isinstance(create_loss(name, COUNTS, N), cls)


def test_create_loss_passes_hyperparameters_and_aliases():
    assert create_loss("focal", COUNTS, N, gamma=1.0).gamma == 1.0
    assert create_loss("db_focal", COUNTS, N, **{"lambda": 2.0}).lam == 2.0
    assert create_loss("circle", COUNTS, N, m=0.3).margin == 0.3
    assert create_loss("asl", COUNTS, N, reduction="batchmean").reduction == "batchmean"
    assert create_loss("erm", torch.tensor(COUNTS), N).num_classes == 4


def test_create_loss_unknown_name():
    with pytest.raises(ConfigError, match="valid names: asl, cb_focal, circle, db_focal"):
        create_loss("nope", COUNTS, N)


def test_create_loss_unknown_hyperparameter():
    with pytest.raises(ConfigError, match=r"'gamma_pos'.*'focal'.*valid keys: gamma, scale, reduction"):
        create_loss("focal", COUNTS, N, gamma_pos=1.0)
    with pytest.raises(ConfigError, match="given twice"):
        create_loss("db_focal", COUNTS, N, lam=2.0, **{"lambda": 3.0})


@pytest.mark.parametrize("name,kwargs", [
    ("focal", {"gamma": -1.0}), ("focal", {"scale": 0.0}), ("cb_focal", {"convention": "x"}),
    ("cb_focal", {"beta": 1.0}), ("db_focal", {"lam": 0.0}), ("db_focal", {"paper_form": "yes"}),
    ("asl", {"clip": 1.0}), ("asl", {"reduction": "none"}), ("zlpr", {"reduction": "batchmean"}),
    ("ldam", {"drw": 1}), ("circle", {"gamma": "32"}),
])
def test_bad_hyperparameter_values(name, kwargs):
    with pytest.raises(ConfigError):
        create_loss(name, COUNTS, N, **kwargs)


@pytest.mark.parametrize("counts,n", [([5, -1], 10), ([5, 11], 10), ([[1, 2]], 10), ([], 10), ([1, 2], 0),
                                      ([1, float("nan")], 10)])
def test_bad_counts(counts, n):
    with pytest.raises(ConfigError):
        create_loss("rw", counts, n)


def test_wrong_number_of_classes_is_rejected():
    with pytest.raises(ValueError, match=r"\[B, 4\]"):
        create_loss("erm", COUNTS, N)(torch.zeros(2, 5), torch.zeros(2, 5))
