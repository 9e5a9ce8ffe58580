"""HMT-Net (the specification in `ltml_bench/heads/hmt.py`): group sigmas, noise only in training, empty groups, the loss by hand."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from ltml_bench.heads.hmt import HMTHead, HMTLoss, HMTOutput, group_sigmas

# tau_h = 100, tau_m = 20: head {0, 1} (mean 135), middle {2, 3} (mean 40), tail {4, 5} (mean 6)
COUNTS = [150, 120, 50, 30, 10, 2]
GROUP_INDEX = {"head": [0, 1], "middle": [2, 3], "tail": [4, 5]}


def _bce(z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean over all entries of softplus(z) - y z, written out."""
    return (torch.log1p(torch.exp(z)) - y * z).mean()


def _identity_heads(head: HMTHead) -> None:
    """Each group head reads feature coordinates 0, 1, ... directly (weight rows e_0, e_1; bias 0)."""
    with torch.no_grad():
        for fc in head.heads:
            fc.weight.zero_()
            fc.bias.zero_()
            for row in range(fc.weight.shape[0]):
                fc.weight[row, row] = 1.0


def test_sigma_is_lambda_over_mean_group_count():
    expected = {"head": 2.0 / 135.0, "middle": 2.0 / 40.0, "tail": 2.0 / 6.0}
    assert group_sigmas(COUNTS, lam=2.0) == pytest.approx(expected)
    head = HMTHead(8, 6, class_counts=COUNTS, lam=2.0)
    assert head.group_names == ["head", "middle", "tail"]
    torch.testing.assert_close(head.sigma, torch.tensor([2 / 135, 2 / 40, 2 / 6]))
    assert group_sigmas(COUNTS, lam=0.5)["tail"] == pytest.approx(0.5 / 6.0)
    for name, idx in zip(head.group_names, head.group_index()):
        assert idx.tolist() == GROUP_INDEX[name]


def test_no_noise_at_evaluation():
    torch.manual_seed(0)
    head = HMTHead(8, 6, class_counts=COUNTS, lam=2.0).eval()
    f = torch.randn(5, 8)
    a, b = head(f), head(f)
    assert torch.equal(a, b)
    clean = torch.zeros(5, 6)
    for fc, name in zip(head.heads, head.group_names):
        clean[:, GROUP_INDEX[name]] = fc(f)
    torch.testing.assert_close(a, clean)


def test_noise_in_training_has_the_group_sigma():
    torch.manual_seed(0)
    lam = 20.0  # sigmas 0.148 / 0.5 / 3.33
    head = HMTHead(4, 6, class_counts=COUNTS, lam=lam).train()
    _identity_heads(head)
    f = torch.zeros(20000, 4)
    first, second = head(f), head(f)
    assert isinstance(first, HMTOutput)
    assert not torch.equal(first.fused, second.fused)
    sigmas = group_sigmas(COUNTS, lam)
    for name, idx in GROUP_INDEX.items():
        std = first.fused[:, idx].std(dim=0)
        torch.testing.assert_close(std, torch.full((2,), sigmas[name]), rtol=0.03, atol=0.0)
        assert first.fused[:, idx].mean(dim=0).abs().max() < 4 * sigmas[name] / 20000 ** 0.5
    # each group gets its own draw: coordinate 0 of the head and of the tail copy are uncorrelated
    corr = torch.corrcoef(torch.stack([first.fused[:, 0], first.fused[:, 4]]))[0, 1]
    assert abs(corr) < 0.05


def test_lambda_zero_gives_no_noise():
    torch.manual_seed(0)
    head = HMTHead(8, 6, class_counts=COUNTS, lam=0.0)
    f = torch.randn(5, 8)
    train_out = head.train()(f)
    torch.testing.assert_close(train_out.fused, head.eval()(f))
    assert torch.equal(head.sigma, torch.zeros(3))


def test_empty_group_has_no_head_and_no_loss_term():
    counts = [150, 50, 40]  # head {0}, middle {1, 2}, no tail class
    torch.manual_seed(0)
    head = HMTHead(8, 3, class_counts=counts, lam=2.0)
    assert head.group_names == ["head", "middle"]
    assert len(head.heads) == 2 and len(head.sigma) == 2
    f = torch.randn(4, 8)
    assert head.eval()(f).shape == (4, 3)
    out = head.train()(f)
    assert len(out.group_logits) == 2
    y = torch.tensor([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 0.0]])
    eta = 0.3
    expected = eta * _bce(out.fused, y) + (1 - eta) * (_bce(out.fused[:, [0]], y[:, [0]]) + _bce(out.fused[:, [1, 2]], y[:, [1, 2]]))
    torch.testing.assert_close(HMTLoss(counts, 4, eta=eta)(out, y), expected)


def test_loss_by_hand():
    z_head = torch.tensor([[2.0, -1.0], [0.5, 0.3], [-2.0, 1.5]])
    z_mid = torch.tensor([[0.1, -0.4], [1.2, 0.0], [-0.7, 2.2]])
    z_tail = torch.tensor([[-3.0, 0.2], [0.9, -1.1], [0.4, 0.6]])
    y = torch.tensor([[1.0, 0.0, 1.0, 0.0, 0.0, 1.0], [0.0, 1.0, 0.0, 0.0, 1.0, 0.0], [1.0, 1.0, 0.0, 1.0, 0.0, 0.0]])
    fused = torch.cat([z_head, z_mid, z_tail], dim=1)  # groups are contiguous here
    index = [torch.tensor(GROUP_INDEX[g]) for g in ("head", "middle", "tail")]
    output = HMTOutput(fused, [z_head, z_mid, z_tail], index)
    for eta in (0.0, 0.5, 1.0):
        expected = eta * _bce(fused, y) + (1 - eta) * (
            _bce(z_head, y[:, :2]) + _bce(z_mid, y[:, 2:4]) + _bce(z_tail, y[:, 4:])
        )
        torch.testing.assert_close(HMTLoss(COUNTS, 200, eta=eta)(output, y), expected)
    # plain logits reduce to BCE; eta outside [0, 1] is refused
    torch.testing.assert_close(HMTLoss(COUNTS, 200)(fused, y), F.binary_cross_entropy_with_logits(fused, y))
    with pytest.raises(ValueError):
        HMTLoss(COUNTS, 200, eta=1.5)


def test_training_forward_matches_the_fused_group_scores():
    torch.manual_seed(0)
    head = HMTHead(8, 6, class_counts=COUNTS, lam=2.0).train()
    out = head(torch.randn(3, 8))
    for logits, idx in zip(out.group_logits, out.group_index):
        torch.testing.assert_close(out.fused[:, idx], logits)
