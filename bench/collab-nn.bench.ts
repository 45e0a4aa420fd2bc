/**
 * The lesson's neural-net model (50 factors, Dropout 0.3, Dense 70, Dropout 0.75, batch 64, Adam):
 * one epoch per repetition, against bench/peers/collab_nn_torch.py and collab_keras.py.
 */
import * as path from "path";
import { collabBenchmark } from "./peers/collab";

export default collabBenchmark(
  "collab-nn",
  "nn",
  path.join(__dirname, "peers", "collab_nn_torch.py"),
);
