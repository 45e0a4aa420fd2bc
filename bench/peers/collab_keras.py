#!/usr/bin/env python3
"""Keras peer of the collaborative-filtering benchmarks: the lesson's own Keras models, with fit.

Same data handling, split and output as the PyTorch peers (collab_torch.py, collab_nn_torch.py):
ratings -> category codes, train mask numpy default_rng(seed).random(n) < 0.8, one JSON object
per epoch {"epoch", "lr", "seconds", "train_loss", "val_mse"}. The lesson's functional models:
  bias: user and movie Embeddings (50 factors, uniform +-0.05, L2 1e-4), Dot, plus a 1-wide
        user bias and movie bias Embedding (no L2);
  nn:   the same two factor Embeddings, Concatenate, Dropout 0.3, Dense 70 relu, Dropout 0.75,
        Dense 1.
Adam (Keras' defaults but the lr), MSE, batch 64, shuffled each epoch; the lr follows --schedule.
Usage: collab_keras.py RATINGS_CSV --model bias|nn [--threads 2]
                       [--schedule 0.001:1,0.01:6,0.001:10]
"""
import argparse
import json
import time

from keras_common import keras, np, start, versions

ap = argparse.ArgumentParser()
ap.add_argument("ratings")
ap.add_argument("--model", choices=["bias", "nn"], required=True)
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--factors", type=int, default=50)
ap.add_argument("--hidden", type=int, default=70)
ap.add_argument("--batch", type=int, default=64)
ap.add_argument("--schedule", default="0.001:1,0.01:6,0.001:10", help="lr:epochs,...")
ap.add_argument("--seed", type=int, default=42)
args = ap.parse_args()
start(args.threads, args.seed)

import pandas as pd  # noqa: E402 (after keras_common's import check)

r = pd.read_csv(args.ratings)
users = r.userId.astype("category").cat.codes.values.astype("int32")
movies = r.movieId.astype("category").cat.codes.values.astype("int32")
y = r.rating.values.astype("float32")
# The PyTorch peers' split, drawn the same way, so all three sides train on the same rows.
train = np.random.default_rng(args.seed).random(len(r)) < 0.8
n_users, n_movies = int(users.max()) + 1, int(movies.max()) + 1

L = keras.layers


def embedding(x, rows, width, l2):
    layer = L.Embedding(rows, width,
                        embeddings_initializer=keras.initializers.RandomUniform(-0.05, 0.05),
                        embeddings_regularizer=keras.regularizers.l2(l2) if l2 else None)
    return L.Flatten()(layer(x))


user_in = keras.Input((1,), dtype="int32", name="user")
movie_in = keras.Input((1,), dtype="int32", name="movie")
u = embedding(user_in, n_users, args.factors, 1e-4)
m = embedding(movie_in, n_movies, args.factors, 1e-4)
if args.model == "bias":
    out = L.Add()([L.Dot(axes=1)([u, m]), embedding(user_in, n_users, 1, 0),
                   embedding(movie_in, n_movies, 1, 0)])
else:
    x = L.Dropout(0.3)(L.Concatenate()([u, m]))
    x = L.Dropout(0.75)(L.Dense(args.hidden, activation="relu")(x))
    out = L.Dense(1)(x)
model = keras.Model([user_in, movie_in], out)
model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")

xt, yt = [users[train, None], movies[train, None]], y[train]
xv, yv = [users[~train, None], movies[~train, None]], y[~train]
epoch = 0
for part in args.schedule.split(","):
    lr, n = float(part.split(":")[0]), int(part.split(":")[1])
    model.optimizer.learning_rate.assign(lr)
    for _ in range(n):
        t0 = time.perf_counter()
        history = model.fit(xt, yt, batch_size=args.batch, epochs=1, shuffle=True, verbose=0)
        seconds = time.perf_counter() - t0
        pred = model.predict(xv, batch_size=8192, verbose=0).reshape(-1)
        print(json.dumps({"epoch": epoch, "lr": lr, "seconds": round(seconds, 3),
                          "train_loss": round(float(history.history["loss"][-1]), 4),
                          "val_mse": round(float(np.mean((pred - yv) ** 2)), 4),
                          **versions(model)}), flush=True)
        epoch += 1
