/**
 * The lesson's bias model (50 factors, batch 64, Adam, the lesson's schedule): one epoch per
 * repetition, against ../shared/peer/collab_torch.py and bench/peers/collab_keras.py.
 */
import * as path from "path";
import { readConfig } from "../lib/config";
import { collabBenchmark } from "./peers/collab";

const sources = readConfig().sourcesDir;
export default collabBenchmark(
  "collab-bias",
  "bias",
  sources
    ? path.join(sources, "peer", "collab_torch.py")
    : "(LESSON4_SOURCES_DIR not set: no peer/collab_torch.py)",
);
