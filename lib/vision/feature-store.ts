/**
 * Features kept on disk in fixed-size .npy shards listed in a checked manifest, because the real
 * State Farm set's features (about 4 GB) do not fit in a laptop's memory at once: a pass computes
 * only the shards that are missing (an interrupted pass resumes), a shard whose size or checksum
 * is wrong is recomputed (never read), and rows are read back in batches.
 */
import * as fs from "fs";
import * as path from "path";
import { createHash } from "crypto";
import * as tf from "@tensorflow/tfjs";
import { NpyWriter, readNpyHeader } from "./npy";
import { Rng } from "../random";

/** Rows per shard unless told otherwise (at 3x3x1024 floats, 38 MB a shard). */
export const SHARD_ROWS = 1024;
const MANIFEST = "manifest.json";
const FORMAT = "lesson4-feature-store/1";

/** Rows that can be read by index, without holding them all: what streamed training reads. */
export interface RowSource {
  readonly rows: number;
  readonly rowShape: number[];
  /** The rows at `indices`, in that order, as one row-major array. */
  readRows(indices: ArrayLike<number>): Float32Array;
}

/** What a store holds: its cache key, row count, one row's shape and the rows per shard. */
export interface StoreLayout {
  key: string;
  rows: number;
  rowShape: number[];
  shardRows?: number;
}

interface ShardEntry {
  file: string;
  rows: number;
  bytes: number;
  sha256: string;
}

interface Manifest {
  format: string;
  key: string;
  rows: number;
  rowShape: number[];
  shardRows: number;
  shards: Record<string, ShardEntry>;
}

/** A finished shard: its entry and where its rows start in the file. */
type Shard = ShardEntry & { offset: number };

/** Fills `writer` (shape [end - start, ...rowShape]) with rows start..end-1 of the set. */
export type ComputeShard = (
  shard: number,
  start: number,
  end: number,
  writer: NpyWriter,
) => Promise<void>;

const shardFile = (i: number) => `shard-${String(i).padStart(5, "0")}.npy`;

function sha256Of(file: string): string {
  const hash = createHash("sha256");
  const buf = Buffer.allocUnsafe(1 << 22);
  const fd = fs.openSync(file, "r");
  try {
    for (let n: number; (n = fs.readSync(fd, buf, 0, buf.length, null)) > 0; )
      hash.update(buf.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest("hex");
}

/** Why a listed shard cannot be used, or null when its file is the one the manifest describes. */
function shardProblem(dir: string, i: number, entry: ShardEntry, rows: number, rowShape: number[]) {
  if (entry.file !== shardFile(i)) return `is listed as ${entry.file}, not ${shardFile(i)}`;
  const file = path.join(dir, entry.file);
  if (!fs.existsSync(file)) return "is missing";
  const size = fs.statSync(file).size;
  if (size !== entry.bytes) return `has ${size} bytes, the manifest lists ${entry.bytes}`;
  if (entry.rows !== rows) return `lists ${entry.rows} rows, the layout needs ${rows}`;
  if (sha256Of(file) !== entry.sha256) return "does not match its sha256 checksum";
  const shape = readNpyHeader(file).shape;
  if (shape.join(",") !== [rows, ...rowShape].join(","))
    return `has shape [${shape}], expected [${[rows, ...rowShape]}]`;
  return null;
}

function readManifest(dir: string, layout: Required<StoreLayout>): Manifest {
  const fresh: Manifest = { format: FORMAT, ...layout, shards: {} };
  const file = path.join(dir, MANIFEST);
  if (!fs.existsSync(file)) return fresh;
  let m: Manifest;
  try {
    m = JSON.parse(fs.readFileSync(file, "utf8")) as Manifest;
  } catch (error) {
    console.warn(
      `${file} is not valid JSON (${(error as Error).message}): recomputing every shard`,
    );
    return fresh;
  }
  const same =
    m.format === FORMAT &&
    m.key === layout.key &&
    m.rows === layout.rows &&
    m.shardRows === layout.shardRows &&
    JSON.stringify(m.rowShape) === JSON.stringify(layout.rowShape) &&
    typeof m.shards === "object";
  if (!same) {
    console.warn(`${file} describes another layout: recomputing every shard`);
    return fresh;
  }
  return m;
}

function writeManifest(dir: string, manifest: Manifest): void {
  const file = path.join(dir, MANIFEST);
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(manifest, null, 1)}\n`);
  fs.renameSync(tmp, file);
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Removes temp files left by a writer whose process is gone (a pass killed mid-shard). */
function removeStaleTemps(dir: string): void {
  for (const name of fs.readdirSync(dir)) {
    const pid = Number(/\.(\d+)\.tmp$/.exec(name)?.[1]);
    if (pid && pid !== process.pid && !processAlive(pid))
      fs.rmSync(path.join(dir, name), { force: true });
  }
}

/**
 * Opens the store in `dir`, computing with `compute` every shard that is missing or damaged (a
 * damaged one is reported in one line first). Each shard is written to a temp name and renamed,
 * then listed in the manifest (also temp + rename), so a pass stopped at any point leaves only
 * whole, listed shards. `onStart` hears how many rows were already done before the first shard
 * is computed. Returns the store and the shards this call computed.
 */
export async function buildFeatureStore(
  dir: string,
  layout: StoreLayout,
  compute: ComputeShard,
  onStart?: (rowsDone: number) => void,
): Promise<{ store: FeatureStore; computed: number[] }> {
  const full = { ...layout, shardRows: layout.shardRows ?? SHARD_ROWS };
  if (!Number.isInteger(full.shardRows) || full.shardRows < 1)
    throw new RangeError(`shardRows must be a whole number >= 1, not ${full.shardRows}`);
  fs.mkdirSync(dir, { recursive: true });
  removeStaleTemps(dir);
  const manifest = readManifest(dir, full);
  const count = Math.ceil(full.rows / full.shardRows);
  const rowsOf = (i: number) => Math.min(full.shardRows, full.rows - i * full.shardRows);
  const missing: number[] = [];
  for (let i = 0; i < count; i++) {
    const entry = manifest.shards[i];
    if (!entry) {
      missing.push(i);
      continue;
    }
    const problem = shardProblem(dir, i, entry, rowsOf(i), full.rowShape);
    if (problem) {
      console.warn(`features ${dir}: shard ${shardFile(i)} ${problem}; recomputing it`);
      delete manifest.shards[i];
      missing.push(i);
    }
  }
  for (const key of Object.keys(manifest.shards))
    if (Number(key) >= count) delete manifest.shards[key];
  onStart?.(full.rows - missing.reduce((n, i) => n + rowsOf(i), 0));
  for (const i of missing) {
    const file = shardFile(i);
    const writer = new NpyWriter(path.join(dir, file), [rowsOf(i), ...full.rowShape]);
    let written: { bytes: number; sha256: string };
    try {
      const start = i * full.shardRows;
      await compute(i, start, start + rowsOf(i), writer);
      written = writer.close();
    } catch (error) {
      writer.abort();
      throw error;
    }
    manifest.shards[i] = { file, rows: rowsOf(i), ...written };
    writeManifest(dir, manifest);
  }
  if (count === 0) writeManifest(dir, manifest);
  const shards = Array.from({ length: count }, (_, i) => {
    const entry = manifest.shards[i];
    return { ...entry, offset: readNpyHeader(path.join(dir, entry.file)).offset };
  });
  return { store: new FeatureStore(dir, full, shards), computed: missing };
}

/** A finished store: rows read by index or in batches, shard by shard, never all at once. */
export class FeatureStore implements RowSource {
  readonly key: string;
  readonly rows: number;
  readonly rowShape: number[];
  readonly shardRows: number;
  /** Floats per row. */
  readonly rowSize: number;

  constructor(
    readonly dir: string,
    layout: Required<StoreLayout>,
    private readonly shards: Shard[],
  ) {
    this.key = layout.key;
    this.rows = layout.rows;
    this.rowShape = layout.rowShape;
    this.shardRows = layout.shardRows;
    this.rowSize = layout.rowShape.reduce((a, b) => a * b, 1);
  }

  get shardCount(): number {
    return this.shards.length;
  }

  /** The rows at `indices`, in that order; runs of neighbouring rows are read with one call. */
  readRows(indices: ArrayLike<number>): Float32Array {
    const out = new Float32Array(indices.length * this.rowSize);
    const bytes = Buffer.from(out.buffer, out.byteOffset, out.byteLength);
    const rowBytes = this.rowSize * 4;
    const fds = new Map<number, number>();
    try {
      for (let k = 0; k < indices.length; ) {
        const row = indices[k];
        if (!Number.isInteger(row) || row < 0 || row >= this.rows)
          throw new RangeError(`row ${row} is outside the store's 0..${this.rows - 1}`);
        const s = Math.floor(row / this.shardRows);
        const shard = this.shards[s];
        let run = 1;
        const shardEnd = (s + 1) * this.shardRows;
        while (k + run < indices.length && indices[k + run] === row + run && row + run < shardEnd)
          run++;
        if (!fds.has(s)) fds.set(s, fs.openSync(path.join(this.dir, shard.file), "r"));
        const position = shard.offset + (row - s * this.shardRows) * rowBytes;
        const got = fs.readSync(fds.get(s)!, bytes, k * rowBytes, run * rowBytes, position);
        if (got !== run * rowBytes)
          throw new Error(
            `features ${this.dir}: ${shard.file} is shorter than when it was checked; run the ` +
              "feature pass again (it recomputes damaged shards)",
          );
        k += run;
      }
    } finally {
      for (const fd of fds.values()) fs.closeSync(fd);
    }
    return out;
  }

  /** The rows at `indices` as a tensor [indices.length, ...rowShape]. */
  rowsTensor(indices: ArrayLike<number>): tf.Tensor {
    return tf.tensor(this.readRows(indices), [indices.length, ...this.rowShape], "float32");
  }

  /**
   * Batches of rows (the caller disposes each), in order or in a seeded shuffle of every row;
   * each row comes once per pass, and only one batch is in memory.
   */
  async *batches(
    batchSize: number,
    options: { shuffle?: boolean; seed?: number | string } = {},
  ): AsyncGenerator<tf.Tensor> {
    if (!Number.isInteger(batchSize) || batchSize < 1)
      throw new RangeError(`batchSize must be a whole number >= 1, not ${batchSize}`);
    const all = Array.from({ length: this.rows }, (_, i) => i);
    const order = options.shuffle ? new Rng(options.seed ?? 42).shuffle(all) : all;
    for (let start = 0; start < order.length; start += batchSize)
      yield this.rowsTensor(order.slice(start, start + batchSize));
  }

  /** Every row as one tensor: for sets that fit in memory (the notebooks' fast mode). */
  load(): tf.Tensor {
    return this.rowsTensor(Array.from({ length: this.rows }, (_, i) => i));
  }
}
