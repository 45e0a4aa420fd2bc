#!/usr/bin/env python3
"""Prints the training mask the collaborative-filtering peers use (numpy default_rng(seed).random(n) < 0.8), one 0/1 per ratings row, so the TypeScript side trains on the same split."""
import sys
import numpy as np

n, seed = int(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 42
mask = np.random.default_rng(seed).random(n) < 0.8
sys.stdout.write("".join("1" if t else "0" for t in mask))
