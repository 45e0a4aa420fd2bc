/**
 * Generates the synthetic State Farm set into data/ (size from LESSON4_MODE), and with
 * --features also precomputes its MobileNet features: `npx tsx scripts/generate-statefarm.ts [--features]`.
 */
import { ensureStateFarm, readStateFarm } from "../lib/statefarm/index";
import { initBackend } from "../lib/engine/backend";
import { stateFarmFeatures, stateFarmMobileNet } from "../lib/statefarm/features";

async function main(): Promise<void> {
  let t = Date.now();
  const source = await ensureStateFarm();
  const data = await readStateFarm(source.dir);
  console.log(
    `${data.train.length} train / ${data.valid.length} valid / ${data.test.length} test images (${((Date.now() - t) / 1000).toFixed(1)} s)`,
  );
  if (!process.argv.includes("--features")) return;
  const backend = await initBackend();
  console.log(`backend: ${backend.name}`);
  t = Date.now();
  const mobilenet = await stateFarmMobileNet();
  for (const [name, files] of [
    ["train", data.train.map((x) => x.path)],
    ["valid", data.valid.map((x) => x.path)],
    ["test", data.test],
  ] as const) {
    const f = await stateFarmFeatures([...files], mobilenet, name);
    console.log(
      `${name}: features ${JSON.stringify([f.store.rows, ...f.store.rowShape])} ${f.cached ? "from cache" : "computed"} -> ${f.file} (${((Date.now() - t) / 1000).toFixed(1)} s so far)`,
    );
  }
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
