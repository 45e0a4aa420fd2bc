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

/** Writes `img,c0..c9` rows (image file names, not paths) to a temp name, then renames it to `file`. */
export function writeSubmission(file: string, images: string[], probs: number[][]): void {
  if (images.length !== probs.length)
    throw new SubmissionError(
      `writeSubmission: ${images.length} image names for ${probs.length} rows of probabilities.`,
    );
  const names = images.map((f) => path.basename(f));
  const rows = probs.map((row, i) => {
    if (row.length !== CLASSES.length)
      throw new SubmissionError(
        `writeSubmission: row ${i} (${names[i]}) has ${row.length} probabilities, expected ${CLASSES.length}.`,
      );
    return [names[i], ...row.map((p) => p.toFixed(6))];
  });
  const text = Papa.unparse({ fields: ["img", ...CLASSES], data: rows }, { newline: "\n" }) + "\n";
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
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
