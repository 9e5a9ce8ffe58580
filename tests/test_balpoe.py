"""BalPoE (multi-label adaptation): the documented training shift and the test-time average."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from ltml_bench.heads.balpoe import BalPoEHead, BalPoELoss, prior_logit

COUNTS = np.array([90, 30, 5, 0, 100])  # a class in no image and one in every image (N = 100)
N = 100


def _head(lambdas=(0.0, 1.0, 2.0)) -> BalPoEHead:
    torch.manual_seed(0)
    labels = np.zeros((N, len(COUNTS)), dtype=np.uint8)
    for k, n in enumerate(COUNTS):
        labels[:n, k] = 1
    head = BalPoEHead(6, len(COUNTS), class_counts=COUNTS, train_labels=labels, lambdas=lambdas)
    for fc in head.experts:  # distinct, non-trivial experts
        torch.nn.init.normal_(fc.weight)
        torch.nn.init.normal_(fc.bias)
    return head


def test_prior_logit_by_hand_with_guards():
    expected = [math.log(90 / 10), math.log(30 / 70), math.log(5 / 95), math.log(1 / 99), math.log(99 / 1)]
    np.testing.assert_allclose(prior_logit(COUNTS, N), expected)
    np.testing.assert_array_equal(prior_logit([1, 0], 1), [0.0, 0.0])


def test_eval_is_the_mean_of_unshifted_expert_logits():
    head = _head().eval()
    f = torch.randn(4, 6)
    expected = torch.stack([fc(f) for fc in head.experts]).mean(dim=0)
    torch.testing.assert_close(head(f), expected)


def test_training_adds_lambda_times_the_prior_logit():
    head = _head((0.0, 1.0, 2.0)).train()
    f = torch.randn(4, 6)
    out = head(f)
    assert out.shape == (3, 4, len(COUNTS))
    prior = torch.tensor(prior_logit(COUNTS, N), dtype=torch.float32)
    for e, lam in enumerate((0.0, 1.0, 2.0)):
        torch.testing.assert_close(out[e], head.experts[e](f) + lam * prior)
    # lambda 0 is plain BCE training; the tail class (5 of 100) is shifted DOWN in training
    torch.testing.assert_close(out[0], head.experts[0](f))
    assert (out[2, :, 2] < head.experts[2](f)[:, 2]).all()


def test_loss_is_the_mean_of_the_experts_bce():
    head = _head().train()
    f = torch.randn(5, 6)
    y = (torch.rand(5, len(COUNTS)) < 0.4).float()
    out = head(f)
    loss = BalPoELoss(COUNTS, N)(out, y)
    expected = sum(F.binary_cross_entropy_with_logits(out[e], y) for e in range(3)) / 3
    torch.testing.assert_close(loss, expected)
    torch.testing.assert_close(BalPoELoss(COUNTS, N)(out[0], y), F.binary_cross_entropy_with_logits(out[0], y))
    with pytest.raises(ValueError):
        BalPoELoss(COUNTS, N)(out[:, :3], y)


def test_head_needs_n():
    with pytest.raises(ValueError):
        BalPoEHead(6, len(COUNTS), class_counts=COUNTS)
    head = BalPoEHead(6, len(COUNTS), class_counts=COUNTS, num_samples=N)
    assert head.num_samples == N
