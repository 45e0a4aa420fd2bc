/** Writes and checks a Kaggle State Farm submission CSV (img,c0..c9), so a bad file is caught before upload. */
import * as fs from "fs";
import * as path from "path";
import Papa from "papaparse";
import { CLASSES } from "./classes";

/** A submission file that does not have Kaggle's format; the message lists what is wrong. */
export class SubmissionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SubmissionError";
  }
}

/** CSV lines (each ending in a newline) for rows `first..` of a submission. */
function csvRows(names: string[], probs: number[][], first: number, who: string): string {
  const rows = probs.map((row, k) => {
    if (row.length !== CLASSES.length)
      throw new SubmissionError(
        `${who}: row ${first + k} (${names[k]}) has ${row.length} probabilities, expected ${CLASSES.length}.`,
      );
    return [names[k], ...row.map((p) => p.toFixed(6))];
  });
  return rows.length ? `${Papa.unparse(rows, { newline: "\n" })}\n` : "";
}

const HEADER = `${Papa.unparse([["img", ...CLASSES]], { newline: "\n" })}\n`;

/** Writes `img,c0..c9` rows (image file names, not paths) to a temp name, then renames it to `file`. */
export function writeSubmission(file: string, images: string[], probs: number[][]): void {
  if (images.length !== probs.length)
    throw new SubmissionError(
      `writeSubmission: ${images.length} image names for ${probs.length} rows of probabilities.`,
    );
  const names = images.map((f) => path.basename(f));
  const text = HEADER + csvRows(names, probs, 0, "writeSubmission");
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}

/**
 * `writeSubmission` for predictions that arrive in batches (rows of `images`, in order): each
 * batch is appended as it comes, so the test set's probabilities are never all in memory. Written
 * to a temp name renamed at the end; on a failure, or a row count that does not match `images`,
 * the temp file is removed and nothing is left at `file`. Returns the rows written.
 */
export async function writeSubmissionStreamed(
  file: string,
  images: string[],
  batches: AsyncIterable<number[][]> | Iterable<number[][]>,
): Promise<number> {
  const who = "writeSubmissionStreamed";
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = fs.openSync(tmp, "w");
  let done = 0;
  try {
    fs.writeSync(fd, HEADER);
    for await (const probs of batches) {
      if (done + probs.length > images.length)
        throw new SubmissionError(
          `${who}: more rows of probabilities than the ${images.length} images.`,
        );
      const names = images.slice(done, done + probs.length).map((f) => path.basename(f));
      fs.writeSync(fd, csvRows(names, probs, done, who));
      done += probs.length;
    }
    if (done !== images.length)
      throw new SubmissionError(
        `${who}: ${images.length} image names for ${done} rows of probabilities.`,
      );
    fs.closeSync(fd);
  } catch (error) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw error;
  }
  fs.renameSync(tmp, file);
  return done;
}

/**
 * Checks `file` has Kaggle's format: header img,c0..c9; one row per expected image (when
 * given), no duplicates; ten probabilities in [0, 1] per row summing to 1 (within 1e-3).
 * Throws SubmissionError listing the first problems; returns the row count.
 */
export function checkSubmission(file: string, expectedImages?: string[]): { rows: number } {
  if (!fs.existsSync(file)) throw new SubmissionError(`Submission ${file} does not exist.`);
  const parsed = Papa.parse<string[]>(fs.readFileSync(file, "utf8"), { skipEmptyLines: true });
  const [head, ...body] = parsed.data;
  const problems: string[] = [];
  const wanted = ["img", ...CLASSES];
  if (!head || head.join(",") !== wanted.join(","))
    problems.push(`header is "${head?.join(",")}", expected "${wanted.join(",")}"`);
  const seen = new Set<string>();
  body.forEach((row, i) => {
    const line = i + 2;
    if (row.length !== wanted.length)
      return void problems.push(`line ${line}: ${row.length} fields, expected ${wanted.length}`);
    const [img, ...values] = row;
    if (!/\.jpg$/i.test(img)) problems.push(`line ${line}: "${img}" is not a .jpg file name`);
    if (seen.has(img)) problems.push(`line ${line}: ${img} appears twice`);
    seen.add(img);
    const p = values.map(Number);
    if (p.some((v) => !Number.isFinite(v) || v < 0 || v > 1))
      problems.push(
        `line ${line}: probabilities must be numbers in [0, 1], got ${values.join(",")}`,
      );
    else if (Math.abs(p.reduce((a, b) => a + b, 0) - 1) > 1e-3)
      problems.push(
        `line ${line}: probabilities sum to ${p.reduce((a, b) => a + b, 0).toFixed(4)}, not 1`,
      );
  });
  if (expectedImages) {
    const names = new Set(expectedImages.map((f) => path.basename(f)));
    const missing = [...names].filter((n) => !seen.has(n));
    const extra = [...seen].filter((n) => !names.has(n));
    if (missing.length)
      problems.push(
        `${missing.length} test images have no row (e.g. ${missing.slice(0, 3).join(", ")})`,
      );
    if (extra.length)
      problems.push(
        `${extra.length} rows name images not in the test set (e.g. ${extra.slice(0, 3).join(", ")})`,
      );
  }
  if (problems.length)
    throw new SubmissionError(
      `Submission ${file} is not in Kaggle's format:\n- ${problems.slice(0, 10).join("\n- ")}${problems.length > 10 ? `\n- ... ${problems.length - 10} more` : ""}`,
    );
  return { rows: body.length };
}
