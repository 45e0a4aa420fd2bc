#!/usr/bin/env python3
"""PyTorch peer of bench/images.bench.ts: the same image work with PIL/torchvision/torch.

  decode:   PIL decode + resize to SIZE x SIZE (bilinear) + a random affine warp (rotation, shifts, shear,
            like the lesson's FEATURE_AUGMENT) + a channel shift, in batches, as tensors.
  features: forward passes of a MobileNet v1 body up to conv_dw_13 (hand-built here, random weights:
            torchvision has no MobileNet v1, and nothing is downloaded) on batches of SIZE x SIZE images.

Prints one JSON line per repetition: {"task", "rep", "seconds", "images"}; warm-up repetitions have rep < 0.
"""
import argparse
import json
import math
import random
import sys
import time

try:
    import torch
    from torch import nn
    import torchvision.transforms.functional as TF
    from PIL import Image
except ImportError as error:  # the bench reports this line as the reason the peer was skipped
    print(f"cannot import torch/torchvision/PIL: {error}", file=sys.stderr)
    sys.exit(3)

from peer_common import add_repetition_args, seeded_start  # noqa: E402 (after the torch check)


def conv_bn(cin, cout, stride):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU6(inplace=True))


def conv_dw(cin, cout, stride):
    return nn.Sequential(
        nn.Conv2d(cin, cin, 3, stride, 1, groups=cin, bias=False), nn.BatchNorm2d(cin), nn.ReLU6(inplace=True),
        nn.Conv2d(cin, cout, 1, 1, 0, bias=False), nn.BatchNorm2d(cout), nn.ReLU6(inplace=True),
    )


def mobilenet_v1_body():
    """MobileNet v1 (alpha 1.0) from the input to conv_dw_13_relu: 7x7x1024 at 224 pixels."""
    cfg = [(32, 64, 1), (64, 128, 2), (128, 128, 1), (128, 256, 2), (256, 256, 1), (256, 512, 2)] + [(512, 512, 1)] * 5 + [(512, 1024, 2), (1024, 1024, 1)]
    return nn.Sequential(conv_bn(3, 32, 2), *[conv_dw(a, b, s) for a, b, s in cfg]).eval()


def augment(img, rng, size):
    """Rotation 15 degrees, width shift 0.1, height shift 0.05, shear 0.1 rad, channel shift 20 (0-255 units)."""
    angle = rng.uniform(-15, 15)
    tx, ty = rng.uniform(-0.1, 0.1) * size, rng.uniform(-0.05, 0.05) * size
    shear = math.degrees(rng.uniform(-0.1, 0.1))
    t = TF.affine(img, angle=angle, translate=[int(round(tx)), int(round(ty))], scale=1.0, shear=[shear, 0.0], interpolation=TF.InterpolationMode.BILINEAR)
    x = TF.pil_to_tensor(t).float()
    return (x + rng.uniform(-20, 20)).clamp(float(x.min()), float(x.max()))


def decode_pass(files, size, batch, rng):
    for start in range(0, len(files), batch):
        xs = [augment(Image.open(f).convert("RGB").resize((size, size), Image.BILINEAR), rng, size) for f in files[start:start + batch]]
        torch.stack(xs)


def features_pass(model, images, batch):
    with torch.no_grad():
        for start in range(0, images.shape[0], batch):
            model(images[start:start + batch])


def main():
    p = argparse.ArgumentParser()
    p.add_argument("task", choices=["decode", "features"])
    p.add_argument("files_list", help="a text file with one image path per line")
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--batch", type=int, default=32)
    add_repetition_args(p)
    a = p.parse_args()
    seeded_start(torch, a)
    files = [line.strip() for line in open(a.files_list) if line.strip()]
    rng = random.Random(42)
    if a.task == "features":
        model = mobilenet_v1_body()
        images = torch.stack([TF.pil_to_tensor(Image.open(f).convert("RGB").resize((a.size, a.size), Image.BILINEAR)).float() / 127.5 - 1 for f in files])
        work = lambda: features_pass(model, images, a.batch)
    else:
        work = lambda: decode_pass(files, a.size, a.batch, rng)
    for rep in range(-a.warmup, a.reps):
        t = time.perf_counter()
        work()
        print(json.dumps({"task": a.task, "rep": rep, "seconds": time.perf_counter() - t, "images": len(files), "threads": a.threads}), flush=True)


if __name__ == "__main__":
    main()
