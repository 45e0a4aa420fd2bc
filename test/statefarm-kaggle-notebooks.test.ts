/**
 * Notebook 05, unchanged, on a tiny folder in the Kaggle competition's layout (640x480 JPEGs in
 * imgs/train/c0..c9 and imgs/test, driver_imgs_list.csv, no generator marker): what a user with the real data
 * gets, executed through Jupyter like every lesson. 05 reads all three parts of the folder (training,
 * validation drivers, unlabelled test photos) through the same ensureStateFarm/readStateFarm as 04, and
 * decodes every photo for its features; 04 runs on the generated stand-in in notebooks-statefarm (running
 * it here too cost CI about 100 s for no code path of its own).
 */
import { beforeAll, describe, expect, it } from "vitest";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { runNotebooks } from "../scripts/run-lessons";
import { BUILD_DIR, listNotebooks } from "../scripts/lessons";
import { generateStateFarm } from "../lib/statefarm/generator";

const OUT = path.join(BUILD_DIR, "test-kaggle-lessons");
const stateFarmNotebooks = listNotebooks().filter((p) => /^05-/.test(path.basename(p)));

/** Every markdown and stream text the executed notebook shows. */
function shownText(file: string): string {
  const nb = JSON.parse(fs.readFileSync(file, "utf8")) as {
    cells: Array<{
      outputs?: Array<{ text?: string | string[]; data?: Record<string, string | string[]> }>;
    }>;
  };
  const join = (t: string | string[] | undefined) => (Array.isArray(t) ? t.join("") : (t ?? ""));
  return nb.cells
    .flatMap((c) =>
      (c.outputs ?? []).map(
        (o) => join(o.text) + join(o.data?.["text/markdown"]) + join(o.data?.["text/plain"]),
      ),
    )
    .join("\n");
}

let dataDir: string;
let kaggleDir: string;
beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "sf-kaggle-"));
  kaggleDir = path.join(dataDir, "statefarm");
  // Drawn by the generator, then stripped of its marker: to the notebooks it is just a folder in the Kaggle layout.
  await generateStateFarm(kaggleDir, {
    drivers: 5,
    imagesPerClass: 3,
    testImages: 12,
    width: 640,
    height: 480,
    seed: 3,
  });
  fs.rmSync(path.join(kaggleDir, "synthetic.json"));
}, 120_000);

describe("the pseudo-labelling notebook on a folder in the Kaggle layout", () => {
  it("finds the notebook", () => {
    expect(stateFarmNotebooks.map((p) => path.basename(p))).toEqual(["05-pseudo-labelling.ipynb"]);
  });

  it.for(stateFarmNotebooks.map((p) => [path.basename(p), p]))(
    "%s runs unchanged and says it used the Kaggle data",
    { timeout: 900_000 },
    async ([name, notebook]) => {
      const { status, output } = await runNotebooks({
        notebooks: [notebook],
        outDir: OUT,
        quiet: true,
        env: { LESSON4_MODE: "fast", LESSON4_DATA_DIR: dataDir },
      });
      expect(output, output).toMatch(/1 passed, 0 failed/);
      expect(status).toBe(0);
      const text = shownText(path.join(OUT, name));
      expect(text).toContain("**Data:** the Kaggle State Farm photos in `" + kaggleDir + "`");
      expect(text).not.toMatch(/generated State Farm stand-in|synthetic stand-in/);
    },
  );
});
