"""Classification heads that methods supply to the harness (and the losses coupled to them).

A head is built as `Head(in_features, num_classes, class_counts=..., **params)`; in eval mode its
`forward(features)` returns logits [B, C]; in training it returns what its method's loss takes.
The recipe's default linear classifier is `ltml_bench.training.model.LinearHead`.
"""
