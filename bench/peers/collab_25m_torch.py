#!/usr/bin/env python3
"""PyTorch peer of the collab-25m benchmark: fitCollab's bias model with its defaults on a 25M-rating ratings.csv.

Same work as ours: the rows the mask file marks (one byte per data row, 1 = training) are the training set, the
rest validation; ids indexed in sorted order; ratings centred on the training mean, predictions clipped to the
training range; user and movie factors (50, uniform +-0.05) and biases (+-0.05); L2 1e-4 * sum(w^2) on the factor
matrices added to every batch's loss; Adam; batch 1024; a fresh shuffle each epoch. Prints one JSON object per
epoch: {"epoch", "lr", "seconds", "train_loss", "val_mse"}, and {"load_seconds"} once.
Usage: collab_25m_torch.py RATINGS_CSV --mask MASK [--threads 2] [--batch 1024] [--schedule 0.001:1]
"""
import argparse, json, sys, time
import numpy as np, pandas as pd, torch

ap = argparse.ArgumentParser()
ap.add_argument("ratings")
ap.add_argument("--mask", required=True, help="one byte per data row: 1 train, 0 validation")
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--factors", type=int, default=50)
ap.add_argument("--batch", type=int, default=1024)
ap.add_argument("--schedule", default="0.001:1", help="lr:epochs,...")
ap.add_argument("--seed", type=int, default=42)
args = ap.parse_args()
torch.set_num_threads(args.threads)
torch.manual_seed(args.seed)

t0 = time.perf_counter()
r = pd.read_csv(args.ratings, usecols=["userId", "movieId", "rating"],
                dtype={"userId": np.int32, "movieId": np.int32, "rating": np.float32})
train = np.fromfile(args.mask, dtype=np.uint8).astype(bool)
if len(train) != len(r):
    sys.exit(f"{args.mask} has {len(train)} flags for {len(r)} rows of {args.ratings}: make them from the same file")
users = torch.from_numpy(pd.Categorical(r.userId.values).codes.astype(np.int64))
movies = torch.from_numpy(pd.Categorical(r.movieId.values).codes.astype(np.int64))
y = torch.from_numpy(r.rating.values)
del r
n_users, n_movies = int(users.max()) + 1, int(movies.max()) + 1
train = torch.from_numpy(train)
ut, mt, yt = users[train], movies[train], y[train]
uv, mv, yv = users[~train], movies[~train], y[~train]
del users, movies, y
mean = float(yt.double().mean())
lo, hi = float(yt.min()), float(yt.max())
target = yt - mean
print(json.dumps({"load_seconds": round(time.perf_counter() - t0, 3), "train": len(yt), "valid": len(yv)}),
      flush=True)


class DotBias(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.u = torch.nn.Embedding(n_users, args.factors)
        self.m = torch.nn.Embedding(n_movies, args.factors)
        self.ub = torch.nn.Embedding(n_users, 1)
        self.mb = torch.nn.Embedding(n_movies, 1)
        for e in (self.u, self.m, self.ub, self.mb):
            torch.nn.init.uniform_(e.weight, -0.05, 0.05)

    def forward(self, u, m):
        return (self.u(u) * self.m(m)).sum(1) + self.ub(u).squeeze(1) + self.mb(m).squeeze(1)


net = DotBias()
opt = torch.optim.Adam(net.parameters(), lr=1e-3)
epoch = 0
for part in args.schedule.split(","):
    lr, n = float(part.split(":")[0]), int(part.split(":")[1])
    for g in opt.param_groups:
        g["lr"] = lr
    for _ in range(n):
        perm = torch.randperm(len(target))
        t0, total = time.perf_counter(), 0.0
        for i in range(0, len(target), args.batch):
            idx = perm[i:i + args.batch]
            err = ((net(ut[idx], mt[idx]) - target[idx]) ** 2).mean()
            loss = err + 1e-4 * (net.u.weight.pow(2).sum() + net.m.weight.pow(2).sum())
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        seconds = time.perf_counter() - t0
        sq = 0.0
        with torch.no_grad():
            for i in range(0, len(yv), 1 << 20):
                p = (net(uv[i:i + (1 << 20)], mv[i:i + (1 << 20)]) + mean).clamp(lo, hi)
                sq += float(((p - yv[i:i + (1 << 20)]) ** 2).double().sum())
        print(json.dumps({"epoch": epoch, "lr": lr, "seconds": round(seconds, 3),
                          "train_loss": round(total / len(target), 4), "val_mse": round(sq / len(yv), 4)}),
              flush=True)
        epoch += 1
