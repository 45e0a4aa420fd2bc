#!/usr/bin/env python3
"""PyTorch peer of bench/statefarm-train.bench.ts: one training epoch of notebook 04's models, the same layers,
sizes, batch sizes and optimizer (Adam, lr 1e-3, categorical cross-entropy), on seeded random inputs of the
notebook's shapes (timing does not depend on the pixels).

  head: BatchNorm -> Dropout 0.2 -> Dense 128 relu -> BatchNorm -> Dropout 0.8 -> Dense 128 relu -> BatchNorm
        -> Dropout 0.4 -> Dense 10, on 3x3x1024 MobileNet feature maps (flattened), batches of 32.
  cnn:  BatchNorm -> Conv 3x3 32 relu -> BatchNorm -> MaxPool 3 -> Conv 3x3 64 relu -> BatchNorm -> MaxPool 3
        -> Dense 200 relu -> BatchNorm -> Dense 10, on 36x48 photos, batches of 64.

Prints one JSON line per epoch: {"task", "rep", "seconds", "samples"}; warm-up epochs have rep < 0.
"""
import argparse
import json
import sys
import time

try:
    import torch
    from torch import nn
except ImportError as error:  # the bench reports this line as the reason the peer was skipped
    print(f"cannot import torch: {error}", file=sys.stderr)
    sys.exit(3)

from peer_common import add_repetition_args, seeded_start  # noqa: E402 (after the torch check)

# Keras' BatchNormalization defaults: epsilon 1e-3, moving averages kept at 0.99 (torch's momentum 0.01).
def bn1d(n):
    return nn.BatchNorm1d(n, eps=1e-3, momentum=0.01)


def bn2d(n):
    return nn.BatchNorm2d(n, eps=1e-3, momentum=0.01)


def head_model(features):
    return nn.Sequential(
        nn.Flatten(), bn1d(features), nn.Dropout(0.2), nn.Linear(features, 128), nn.ReLU(), bn1d(128), nn.Dropout(0.8),
        nn.Linear(128, 128), nn.ReLU(), bn1d(128), nn.Dropout(0.4), nn.Linear(128, 10),
    )


def cnn_model():
    return nn.Sequential(
        bn2d(3), nn.Conv2d(3, 32, 3), nn.ReLU(), bn2d(32), nn.MaxPool2d(3),
        nn.Conv2d(32, 64, 3), nn.ReLU(), bn2d(64), nn.MaxPool2d(3), nn.Flatten(),
        nn.Linear(64 * 3 * 4, 200), nn.ReLU(), bn1d(200), nn.Linear(200, 10),
    )


def main():
    p = argparse.ArgumentParser()
    p.add_argument("task", choices=["head", "cnn"])
    p.add_argument("--samples", type=int, required=True)
    add_repetition_args(p)
    a = p.parse_args()
    seeded_start(torch, a)
    if a.task == "head":
        x, batch, model = torch.relu(torch.randn(a.samples, 1024, 3, 3)), 32, head_model(1024 * 9)
    else:
        x, batch, model = torch.rand(a.samples, 3, 36, 48) * 255, 64, cnn_model()
    y = torch.randint(0, 10, (a.samples,))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)  # Keras' epsilon
    loss_fn = nn.CrossEntropyLoss()
    for rep in range(-a.warmup, a.reps):
        t = time.perf_counter()
        model.train()
        order = torch.randperm(a.samples)
        for start in range(0, a.samples, batch):
            idx = order[start:start + batch]
            optimizer.zero_grad()
            loss = loss_fn(model(x[idx]), y[idx])
            loss.backward()
            optimizer.step()
        print(json.dumps({"task": a.task, "rep": rep, "seconds": time.perf_counter() - t, "samples": a.samples, "threads": a.threads}), flush=True)


if __name__ == "__main__":
    main()
