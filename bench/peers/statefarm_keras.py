#!/usr/bin/env python3
"""Keras peer of bench/statefarm-train.bench.ts: one training epoch of notebook 04's models as the
lesson builds them in Keras (Sequential, Adam lr 1e-3, categorical cross-entropy, model.fit), on
seeded random inputs of the notebook's shapes (timing does not depend on the pixels).

  head: Flatten -> BatchNorm -> Dropout 0.2 -> Dense 128 relu -> BatchNorm -> Dropout 0.8
        -> Dense 128 relu -> BatchNorm -> Dropout 0.4 -> Dense 10 softmax, on 3x3x1024
        MobileNet feature maps, batches of 32.
  cnn:  BatchNorm -> Conv 3x3 32 relu -> BatchNorm -> MaxPool 3 -> Conv 3x3 64 relu -> BatchNorm
        -> MaxPool 3 -> Flatten -> Dense 200 relu -> BatchNorm -> Dense 10 softmax, on 36x48 photos,
        batches of 64.
Like ours (trainClassifier), each epoch also scores a 32-sample validation set.

Prints one JSON line per epoch: {"task", "rep", "seconds", "samples"}; warm-up epochs have rep < 0.
"""
import argparse
import json
import time

from keras_common import add_repetition_args, keras, np, start, versions

L = keras.layers


def bn():
    # The lesson's BatchNorm momentum (lib/statefarm/models.ts: 0.9); Keras' default epsilon 1e-3.
    return L.BatchNormalization(momentum=0.9)


def head_model():
    return keras.Sequential([
        keras.Input((3, 3, 1024)), L.Flatten(), bn(), L.Dropout(0.2),
        L.Dense(128, activation="relu"), bn(), L.Dropout(0.8),
        L.Dense(128, activation="relu"), bn(), L.Dropout(0.4),
        L.Dense(10, activation="softmax"),
    ])


def cnn_model():
    return keras.Sequential([
        keras.Input((36, 48, 3)), bn(), L.Conv2D(32, 3, activation="relu"), bn(), L.MaxPooling2D(3),
        L.Conv2D(64, 3, activation="relu"), bn(), L.MaxPooling2D(3), L.Flatten(),
        L.Dense(200, activation="relu"), bn(), L.Dense(10, activation="softmax"),
    ])


def labelled(x, seed):
    labels = (np.arange(len(x)) * 7 + seed) % 10
    return x, keras.utils.to_categorical(labels, 10)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("task", choices=["head", "cnn"])
    p.add_argument("--samples", type=int, required=True)
    add_repetition_args(p)
    a = p.parse_args()
    start(a.threads)
    rng = np.random.default_rng(1)
    if a.task == "head":
        shape, batch, model = (3, 3, 1024), 32, head_model()
        draw = lambda n: np.maximum(rng.standard_normal((n, *shape)), 0).astype("float32")
    else:
        shape, batch, model = (36, 48, 3), 64, cnn_model()
        draw = lambda n: (rng.random((n, *shape)) * 255).astype("float32")
    train, valid = labelled(draw(a.samples), 1), labelled(draw(32), 2)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="categorical_crossentropy",
                  metrics=["accuracy"])
    for rep in range(-a.warmup, a.reps):
        t = time.perf_counter()
        model.fit(*train, batch_size=batch, epochs=1, shuffle=True, validation_data=valid,
                  verbose=0)
        print(json.dumps({"task": a.task, "rep": rep, "seconds": time.perf_counter() - t,
                          "samples": a.samples, "threads": a.threads, **versions(model)}),
              flush=True)


if __name__ == "__main__":
    main()
