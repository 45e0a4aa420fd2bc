#!/usr/bin/env python3
"""Keras peer of bench/images.bench.ts: the same image work with Keras 3 on TensorFlow.

  decode:   keras.utils.load_img (PIL) decode + resize to SIZE x SIZE (bilinear), then, per
            batch, one random affine warp per image (rotation 15 degrees, width shift 0.1,
            height shift 0.05, shear 0.1, fill "nearest", like the lesson's FEATURE_AUGMENT) with
            keras.ops.image.affine_transform, and a channel shift of up to 20 clipped to 0-255.
            Keras 3 dropped the lesson's ImageDataGenerator from its public API (it remains in
            keras.src.legacy, warping image by image in scipy); one warp per image is what the
            lesson's generator and ours both do.
  features: MobileNet v1 up to conv_dw_13_relu with the ImageNet weights the lessons use, built
            in Keras from the TF.js model.json topology (same layers, same padding) and its
            weight shards (keras.applications cannot download its own copy here);
            model.predict, batches of BATCH.

Prints one JSON line per repetition: {"task", "rep", "seconds", "images"}; warm-ups have rep < 0.
"""
import argparse
import json
import math
import os
import time

from keras_common import add_repetition_args, keras, np, start, versions

L = keras.layers


def mobilenet_from_tfjs(model_dir, size, cut="conv_dw_13_relu"):
    """A Keras model of the TF.js layers model in model_dir (a chain of MobileNet's layers),
    up to the layer `cut`."""
    spec = json.load(open(os.path.join(model_dir, "model.json")))
    layers = spec["modelTopology"]["model_config"]["config"]["layers"]
    x = inputs = None
    for layer in layers:
        kind, c = layer["class_name"], layer["config"]
        if kind == "InputLayer":
            x = inputs = keras.Input((size, size, c["batch_input_shape"][3]), name=c["name"])
        elif kind == "Conv2D":
            x = L.Conv2D(c["filters"], tuple(c["kernel_size"]), strides=tuple(c["strides"]),
                         padding=c["padding"], use_bias=c["use_bias"], name=c["name"])(x)
        elif kind == "DepthwiseConv2D":
            x = L.DepthwiseConv2D(tuple(c["kernel_size"]), strides=tuple(c["strides"]),
                                  padding=c["padding"], use_bias=c["use_bias"], name=c["name"])(x)
        elif kind == "BatchNormalization":
            x = L.BatchNormalization(epsilon=c["epsilon"], momentum=c["momentum"],
                                     name=c["name"])(x)
        elif kind == "Activation":
            x = L.Activation(c["activation"], name=c["name"])(x)
        else:
            raise SystemExit(f"mobilenet_from_tfjs: layer type {kind} is not handled")
        if c["name"] == cut:  # the full published model goes on to the classifier: not timed
            break
    model = keras.Model(inputs, x)
    # The shards hold the manifest's float32 weights back to back, group by group.
    weights = {}
    for group in spec["weightsManifest"]:
        blob = b"".join(open(os.path.join(model_dir, p), "rb").read() for p in group["paths"])
        offset = 0
        for w in group["weights"]:
            if w["dtype"] != "float32":
                raise SystemExit(f"mobilenet_from_tfjs: {w['name']} is {w['dtype']}, not float32")
            size = int(np.prod(w["shape"])) * 4
            values = np.frombuffer(blob[offset:offset + size], "<f4")
            weights[w["name"]] = values.reshape(w["shape"])
            offset += size
    order = {"Conv2D": ["kernel"], "DepthwiseConv2D": ["depthwise_kernel"],
             "BatchNormalization": ["gamma", "beta", "moving_mean", "moving_variance"]}
    for layer in model.layers:
        names = order.get(type(layer).__name__)
        if names:
            layer.set_weights([weights[f"{layer.name}/{n}"] for n in names])
    return model


def affine_batch(images, rng, size):
    """One random warp per image, built like Keras' legacy ImageDataGenerator's (rotation,
    shift, shear)."""
    n = images.shape[0]
    rows = []
    centre = (size - 1) / 2
    for _ in range(n):
        theta = math.radians(rng.uniform(-15, 15))
        tx, ty = rng.uniform(-0.1, 0.1) * size, rng.uniform(-0.05, 0.05) * size
        shear = rng.uniform(-0.1, 0.1)
        cos, sin = math.cos(theta), math.sin(theta)
        rot = np.array([[cos, -sin, 0], [sin, cos, 0], [0, 0, 1]])
        shift = np.array([[1, 0, tx], [0, 1, ty], [0, 0, 1]])
        skew = np.array([[1, -math.sin(shear), 0], [0, math.cos(shear), 0], [0, 0, 1]])
        to_centre = np.array([[1, 0, centre], [0, 1, centre], [0, 0, 1]])
        back = np.array([[1, 0, -centre], [0, 1, -centre], [0, 0, 1]])
        m = to_centre @ rot @ shift @ skew @ back  # output (x, y) -> input (x, y)
        rows.append([m[0, 0], m[0, 1], m[0, 2], m[1, 0], m[1, 1], m[1, 2], 0.0, 0.0])
    warped = keras.ops.image.affine_transform(images, np.array(rows, "float32"),
                                              interpolation="bilinear", fill_mode="nearest")
    shifts = rng.uniform(-20, 20, (n, 1, 1, 1)).astype("float32")
    return keras.ops.clip(warped + shifts, 0.0, 255.0)


def decode_pass(files, size, batch, rng):
    for start_at in range(0, len(files), batch):
        xs = np.stack([keras.utils.img_to_array(
            keras.utils.load_img(f, target_size=(size, size), interpolation="bilinear"))
            for f in files[start_at:start_at + batch]])
        # The pixels exist, as ours await data().
        keras.ops.convert_to_numpy(affine_batch(xs, rng, size))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("task", choices=["decode", "features"])
    p.add_argument("files_list", help="a text file with one image path per line")
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--model-dir", help="the TF.js MobileNet (model.json and shards), for features")
    add_repetition_args(p)
    a = p.parse_args()
    start(a.threads)
    files = [line.strip() for line in open(a.files_list) if line.strip()]
    rng = np.random.default_rng(42)
    if a.task == "features":
        if not a.model_dir:
            raise SystemExit("features needs --model-dir (the lessons' MobileNet)")
        model = mobilenet_from_tfjs(a.model_dir, a.size)
        images = np.stack([keras.utils.img_to_array(
            keras.utils.load_img(f, target_size=(a.size, a.size), interpolation="bilinear"))
            for f in files]) / 127.5 - 1
        work = lambda: model.predict(images, batch_size=a.batch, verbose=0)
    else:
        work = lambda: decode_pass(files, a.size, a.batch, rng)
    for rep in range(-a.warmup, a.reps):
        t = time.perf_counter()
        work()
        print(json.dumps({"task": a.task, "rep": rep, "seconds": time.perf_counter() - t,
                          "images": len(files), "threads": a.threads, **versions()}), flush=True)


if __name__ == "__main__":
    main()
