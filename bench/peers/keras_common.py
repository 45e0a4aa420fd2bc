"""What the Keras peers share: a quiet TensorFlow on N threads, seeded, and the repetition options.

TensorFlow is imported here, after its environment variables are set, so every Keras peer starts the
same way. A peer that cannot import it exits with code 3 and one line on stderr, which the bench
reports as the reason it skipped the Keras column.
"""
import os
import sys

# Only errors on stderr: the bench shows the last stderr lines as the skip reason when a peer fails.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

try:
    import numpy as np
    import tensorflow as tf
    import keras
except ImportError as error:
    print(f"cannot import tensorflow/keras: {error}", file=sys.stderr)
    sys.exit(3)


def add_repetition_args(parser):
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)


def start(threads, seed=0):
    """TensorFlow on `threads` threads, inside ops and between them (as torch.set_num_threads)."""
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
    keras.utils.set_random_seed(seed)


def versions(model=None):
    """Reported with each measurement, so a table says which TensorFlow and Keras it measured,
    and whether fit compiled with XLA (Keras 3's "auto" leaves it off on TensorFlow: what a
    user gets)."""
    out = {"tensorflow": tf.__version__, "keras": keras.__version__}
    if model is not None:
        out["jit_compile"] = str(bool(getattr(model, "jit_compile", False))).lower()
    return out


__all__ = ["np", "tf", "keras", "add_repetition_args", "start", "versions"]
