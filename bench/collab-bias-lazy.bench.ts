/**
 * The bias benchmark with lazy Adam on the Embedding matrices (only the rows a batch used change, weights and moments):
 * the semantic shortcut issue 7 allows, measured beside collab-bias so its speed and its RMSE cost show in one table.
 */
import * as path from "path";
import { readConfig } from "../lib/config";
import { collabBenchmark } from "./peers/collab";

const sources = readConfig().sourcesDir;
const peer = sources
  ? path.join(sources, "peer", "collab_torch.py")
  : "(LESSON4_SOURCES_DIR not set: no peer/collab_torch.py)";
export default collabBenchmark(
  "collab-bias-lazy",
  "bias",
  peer,
  { lazyAdam: true },
  "ours updates only the Embedding rows a batch used (lazy Adam); " +
    "both peers run the lesson's dense Adam",
);
