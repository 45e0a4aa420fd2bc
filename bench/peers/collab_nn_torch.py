#!/usr/bin/env python3
"""Peer for the nn benchmark: the lesson's neural-net collaborative-filtering model in PyTorch on the CPU.

This project's own script, shaped like ../shared/peer/collab_torch.py (same data handling, split, output):
user and movie embeddings (50 factors, uniform +-0.05, L2 1e-4 on both matrices), concatenated, Dropout 0.3,
Linear 70 + ReLU, Dropout 0.75, Linear 1; Adam, batch 64, MSE. Prints one JSON object per epoch:
{"epoch", "lr", "seconds", "train_loss", "val_mse"}.
Usage: collab_nn_torch.py RATINGS_CSV [--threads 2] [--schedule 0.001:1,0.01:6,0.001:10]
"""
import argparse, json, time
import numpy as np, pandas as pd, torch

ap = argparse.ArgumentParser()
ap.add_argument("ratings")
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--factors", type=int, default=50)
ap.add_argument("--hidden", type=int, default=70)
ap.add_argument("--batch", type=int, default=64)
ap.add_argument("--schedule", default="0.001:1,0.01:6,0.001:10", help="lr:epochs,...")
ap.add_argument("--seed", type=int, default=42)
args = ap.parse_args()
torch.set_num_threads(args.threads)
torch.manual_seed(args.seed)
rng = np.random.default_rng(args.seed)

r = pd.read_csv(args.ratings)
users = torch.tensor(r.userId.astype("category").cat.codes.values, dtype=torch.int64)
movies = torch.tensor(r.movieId.astype("category").cat.codes.values, dtype=torch.int64)
y = torch.tensor(r.rating.values, dtype=torch.float32)
train = torch.tensor(rng.random(len(r)) < 0.8)
n_users, n_movies = int(users.max()) + 1, int(movies.max()) + 1


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.u = torch.nn.Embedding(n_users, args.factors)
        self.m = torch.nn.Embedding(n_movies, args.factors)
        for e in (self.u, self.m):
            torch.nn.init.uniform_(e.weight, -0.05, 0.05)
        self.body = torch.nn.Sequential(
            torch.nn.Dropout(0.3), torch.nn.Linear(2 * args.factors, args.hidden), torch.nn.ReLU(),
            torch.nn.Dropout(0.75), torch.nn.Linear(args.hidden, 1))

    def forward(self, u, m):
        return self.body(torch.cat([self.u(u), self.m(m)], 1)).squeeze(1)


net = Net()
opt = torch.optim.Adam(net.parameters(), lr=1e-3)
ut, mt, yt = users[train], movies[train], y[train]
uv, mv, yv = users[~train], movies[~train], y[~train]
epoch = 0
for part in args.schedule.split(","):
    lr, n = float(part.split(":")[0]), int(part.split(":")[1])
    for g in opt.param_groups:
        g["lr"] = lr
    for _ in range(n):
        net.train()
        perm = torch.randperm(len(yt))
        t0, total = time.perf_counter(), 0.0
        for i in range(0, len(yt), args.batch):
            idx = perm[i:i + args.batch]
            err = ((net(ut[idx], mt[idx]) - yt[idx]) ** 2).mean()
            loss = err + 1e-4 * (net.u.weight.pow(2).sum() + net.m.weight.pow(2).sum())
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        seconds = time.perf_counter() - t0
        net.eval()
        with torch.no_grad():
            val = ((net(uv, mv) - yv) ** 2).mean().item()
        print(json.dumps({"epoch": epoch, "lr": lr, "seconds": round(seconds, 3),
                          "train_loss": round(total / len(yt), 4), "val_mse": round(val, 4)}), flush=True)
        epoch += 1
