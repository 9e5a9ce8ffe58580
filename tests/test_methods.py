"""Every registered method (built-ins and plugins): a well-formed spec and one short run through the harness.

The runs use a tiny in-memory dataset registered here for the module's duration: 40 training images
(32 px, random pixels) over 6 classes with training counts 30 / 14 / 8 / 6 / 3 / 1, grouped with
lowered thresholds (head n >= 12, tail n < 5: 2 / 2 / 2 classes), and 24 test images in which every
class has a positive. Each method trains one epoch of a narrow CIFAR-style ResNet (neck 16-d,
batch 8) on the CPU with one torch thread (about 0.4 s a method); a separate manual step checks that
every trainable parameter of the method's head receives a finite, non-zero gradient from its loss.
"""

from __future__ import annotations

import importlib
import json
import math
import subprocess
import sys

import numpy as np
import pytest
import torch

from ltml_bench.api import resolve_config, run
from ltml_bench.config import TRAIN_FIELDS
from ltml_bench.data import DatasetBundle, Split, TensorImages
from ltml_bench.registry import BUILTIN_METHOD_MODULES, DATASETS, METHODS, DatasetSpec, import_object
from ltml_bench.training.components import make_loss
from ltml_bench.training.model import build_model

BUILTINS = ("erm", "rw", "rs", "focal", "lsep", "ml_gcn", "ldam", "cb_focal", "circle", "db_focal", "asl",
            "zlpr", "balpoe", "hmt")
TINY = "zoo_tiny_test"
TRAIN_COUNTS = (30, 14, 8, 6, 3, 1)
HEAD_MIN, TAIL_BELOW = 12, 5
SETTINGS = {
    "backbone": "ltml_cifar_resnet_small", "neck_dim": 16, "batch_size": 8, "warmup_iters": 2,
    "head_min": HEAD_MIN, "tail_below": TAIL_BELOW, "eval_batch_size": 64,
}


def _tiny_bundle() -> DatasetBundle:
    rng = np.random.default_rng(0)
    num_train, num_test, num_classes = 40, 24, len(TRAIN_COUNTS)
    train = np.zeros((num_train, num_classes), dtype=np.uint8)
    for k, n in enumerate(TRAIN_COUNTS):
        train[rng.choice(num_train, size=n, replace=False), k] = 1
    test = (rng.random((num_test, num_classes)) < 0.3).astype(np.uint8)
    test[np.arange(num_classes), np.arange(num_classes)] = 1  # every class has a test positive
    images = lambda n: rng.integers(0, 256, size=(n, 3, 32, 32), dtype=np.uint8)  # noqa: E731
    names = [f"class_{k}" for k in range(num_classes)]
    return DatasetBundle(
        name=TINY,
        class_names=names,
        train=Split([f"tr{i}" for i in range(num_train)], train, TensorImages(images(num_train), train)),
        test=Split([f"te{i}" for i in range(num_test)], test, TensorImages(images(num_test), test, pad=0)),
    )


BUNDLE = _tiny_bundle()


@pytest.fixture(scope="module", autouse=True)
def tiny_dataset():
    # one intra-op thread: on a shared 2-core machine, 2 threads of tiny convolutions fighting other
    # processes made a run 5-20x slower (0.4 s -> 2-9 s per method)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    DATASETS.names()  # load the built-ins first, so that registering here cannot shadow their loading
    importlib.import_module("ltml_bench.training.backbones")  # timm's import is paid here, not by the first method
    DATASETS.register(
        DatasetSpec(
            name=TINY, title="tiny", summary="6-class test set of test_methods.py", build=lambda **_: BUNDLE,
            recipe={"pretrained": False, "image_size": 32, "epochs": 1, "lr_steps": (), "lr": 0.02},
        ),
        origin="test",
    )
    yield
    DATASETS.unregister(TINY)
    torch.set_num_threads(threads)


def _settings(spec) -> dict:
    settings = dict(SETTINGS)
    if "tau_h" in spec.head_params:  # HMT-Net's own group thresholds follow the lowered rule
        settings.update(tau_h=HEAD_MIN, tau_m=TAIL_BELOW)
    return settings


def test_builtin_modules_and_order():
    assert BUILTIN_METHOD_MODULES == BUILTINS
    assert set(BUILTINS) <= set(METHODS.names())


def test_listing_methods_does_not_import_torch():
    code = "import sys, ltml_bench.registry as r; r.METHODS.all(); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"LTML_BENCH_NO_PLUGINS": "1", "PATH": ""})
    assert out.stdout.strip() == "False"


def test_db_focal_dataset_params_match_the_loss_module():
    from ltml_bench.losses import DB_FOCAL_DATASET_DEFAULTS

    spec = METHODS.get("db_focal")
    assert spec.dataset_params == DB_FOCAL_DATASET_DEFAULTS
    assert spec.sampler == "class_aware"


@pytest.mark.parametrize("name", METHODS.names())
def test_spec_is_well_formed(name):
    spec = METHODS.get(name)
    assert spec.name == name
    for text in (spec.title, spec.paper, spec.summary):
        assert isinstance(text, str) and text.strip()
    assert spec.sampler in (None, "class_aware")
    if METHODS.origin(name) == "builtin":
        doc = importlib.import_module(f"ltml_bench.methods.{name}").__doc__
        assert doc and len(doc.strip()) > 200, f"{name}: the method module needs its docstring"
        assert set(spec.reported) == {"voc_lt", "coco_lt"}
    for dataset, values in spec.reported.items():
        assert len(values) == 4 and all(0.0 <= float(v) <= 100.0 for v in values), (dataset, values)
    params = set(spec.loss_params) | set(spec.head_params)
    assert not set(spec.loss_params) & set(spec.head_params), "a key must belong to the loss or the head"
    for dataset, overrides in spec.dataset_params.items():
        assert set(overrides) <= params, f"{name}/{dataset}: overrides {set(overrides) - params} are not parameters"
    for key, values in spec.sweep.items():
        assert key in params or key in TRAIN_FIELDS, f"{name}: sweep key {key!r} is not a hyper-parameter"
        assert isinstance(values, tuple) and values
    # the loss and the head resolve with the spec's defaults
    counts = np.asarray(TRAIN_COUNTS)
    loss = make_loss(spec, counts, 40, dict(spec.loss_params))
    assert isinstance(loss, torch.nn.Module)
    if spec.head:
        assert callable(import_object(spec.head))


@pytest.mark.parametrize("name", METHODS.names())
def test_one_epoch_through_the_harness(name, tmp_path):
    spec = METHODS.get(name)
    record = run(method=name, dataset=TINY, seed=0, epochs=1, device="cpu", out=tmp_path, settings=_settings(spec))
    for group in ("head", "middle", "tail", "all"):
        assert math.isfinite(record["map"][group]), (group, record["map"])
    assert all(math.isfinite(ap) for ap in record["per_class_ap"])
    results = list(tmp_path.rglob("result.json"))
    assert len(results) == 1
    assert json.loads(results[0].read_text())["method"] == name


@pytest.mark.parametrize("name", METHODS.names())
def test_every_head_parameter_gets_a_gradient(name):
    spec = METHODS.get(name)
    config = resolve_config(spec, DATASETS.get(TINY), 0, _settings(spec), epochs=1, device="cpu")
    cfg = config.train
    torch.manual_seed(0)
    labels = BUNDLE.train.labels
    counts = BUNDLE.train.class_counts
    head_cls = import_object(spec.head) if spec.head else None
    model = build_model(cfg.backbone, False, BUNDLE.num_classes, counts, head_cls, dict(config.head_params),
                        cfg.neck_dim, cfg.dropout, train_labels=labels, class_names=BUNDLE.class_names)
    criterion = make_loss(spec, counts, len(labels), dict(config.loss_params))
    model.train()
    x, y = BUNDLE.train.dataset.get_batch(np.arange(16), train=True, generator=torch.Generator().manual_seed(0))
    loss = criterion(model(x), y)
    assert torch.isfinite(loss)
    loss.backward()
    trainable = [(n, p) for n, p in model.head.named_parameters() if p.requires_grad]
    assert trainable, f"{name}: the head has no trainable parameter"
    for pname, param in trainable:
        assert param.grad is not None, f"{name}: head parameter {pname} got no gradient"
        assert torch.isfinite(param.grad).all(), f"{name}: non-finite gradient for {pname}"
        assert param.grad.abs().sum() > 0, f"{name}: zero gradient for {pname}"


def test_cosine_head_scores():
    from ltml_bench.heads.cosine import CosineHead

    torch.manual_seed(0)
    head = CosineHead(8, 5, class_counts=[5, 4, 3, 2, 1], eval_scale=30.0)
    f = torch.randn(7, 8) * 3.0
    expected = torch.nn.functional.normalize(f, dim=1) @ torch.nn.functional.normalize(head.weight, dim=1).t()
    head.train()
    s = head(f)
    assert s.shape == (7, 5) and s.abs().max() <= 1.0
    torch.testing.assert_close(s, expected)
    head.eval()
    torch.testing.assert_close(head(f), 30.0 * expected)
    assert torch.equal(torch.argsort(head(f), dim=0), torch.argsort(expected, dim=0))  # rank-equivalent
    assert torch.isfinite(head(torch.zeros(2, 8))).all()
