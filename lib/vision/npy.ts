/**
 * save_array / load_array as in the lesson, in NumPy's .npy format (version 1.0, little-endian
 * float32/int32/uint8), so arrays are readable by numpy.load and written atomically.
 */
import * as fs from "fs";
import * as path from "path";
import { createHash } from "crypto";
import * as tf from "@tensorflow/tfjs";

const DTYPES: Record<string, { descr: string; bytes: number }> = {
  float32: { descr: "<f4", bytes: 4 },
  int32: { descr: "<i4", bytes: 4 },
  uint8: { descr: "|u1", bytes: 1 },
};

function header(dtype: string, shape: number[]): Buffer {
  const d = DTYPES[dtype];
  if (!d) throw new Error(`.npy: unsupported dtype ${dtype} (use float32, int32 or uint8)`);
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`;
  let text = `{'descr': '${d.descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const pad = 64 - ((10 + text.length + 1) % 64);
  text += " ".repeat(pad % 64) + "\n";
  const head = Buffer.alloc(10);
  head.write("\x93NUMPY", 0, "latin1");
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(text.length, 8);
  return Buffer.concat([head, Buffer.from(text, "latin1")]);
}

/** What `NpyWriter.close()` wrote: the file's size and its sha256 (hex), header included. */
export interface NpyWritten {
  bytes: number;
  sha256: string;
}

/**
 * Writes a .npy file whose rows arrive in pieces (total shape known up front), to a temp
 * name renamed on `close()`: how big feature arrays are saved without holding them in memory.
 */
export class NpyWriter {
  private fd: number;
  private tmp: string;
  private written = 0;
  private bytes = 0;
  private hash = createHash("sha256");
  constructor(
    readonly file: string,
    readonly shape: number[],
    readonly dtype: "float32" | "int32" | "uint8" = "float32",
  ) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    this.tmp = `${file}.${process.pid}.tmp`;
    this.fd = fs.openSync(this.tmp, "w");
    this.put(header(dtype, shape));
  }
  private put(bytes: Buffer): void {
    fs.writeSync(this.fd, bytes);
    this.hash.update(bytes);
    this.bytes += bytes.byteLength;
  }
  /** Appends values (a typed array or tensor) in row-major order. */
  async write(values: tf.Tensor | Float32Array | Int32Array | Uint8Array): Promise<void> {
    const data = values instanceof tf.Tensor ? await values.data() : values;
    this.put(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    this.written += data.length;
  }
  /**
   * Finishes the file and returns its size and checksum; fails (and removes it) if fewer or more
   * values were written than the shape holds.
   */
  close(): NpyWritten {
    fs.closeSync(this.fd);
    const expected = this.shape.reduce((a, b) => a * b, 1);
    if (this.written !== expected) {
      fs.rmSync(this.tmp, { force: true });
      throw new Error(
        `.npy ${this.file}: wrote ${this.written} values, the shape [${this.shape}] holds ${expected}`,
      );
    }
    fs.renameSync(this.tmp, this.file);
    return { bytes: this.bytes, sha256: this.hash.digest("hex") };
  }
  /** Drops the unfinished file. */
  abort(): void {
    try {
      fs.closeSync(this.fd);
    } catch {
      /* already closed */
    }
    fs.rmSync(this.tmp, { force: true });
  }
}

/** Saves a tensor as .npy (the lesson's save_array). */
export async function saveArray(file: string, tensor: tf.Tensor): Promise<void> {
  const writer = new NpyWriter(file, tensor.shape, tensor.dtype as "float32" | "int32");
  try {
    await writer.write(tensor);
    writer.close();
  } catch (error) {
    writer.abort();
    throw error;
  }
}

/** Reads a .npy file's dtype and shape, and where its data starts. */
export function readNpyHeader(file: string): {
  dtype: "float32" | "int32" | "uint8";
  shape: number[];
  offset: number;
} {
  const fd = fs.openSync(file, "r");
  try {
    const head = Buffer.alloc(10);
    fs.readSync(fd, head, 0, 10, 0);
    if (head.toString("latin1", 0, 6) !== "\x93NUMPY")
      throw new Error(`${file} is not a .npy file`);
    const major = head[6];
    const lenBytes = major === 1 ? 2 : 4;
    const lenBuf = Buffer.alloc(lenBytes);
    fs.readSync(fd, lenBuf, 0, lenBytes, 8);
    const len = major === 1 ? lenBuf.readUInt16LE(0) : lenBuf.readUInt32LE(0);
    const text = Buffer.alloc(len);
    fs.readSync(fd, text, 0, len, 8 + lenBytes);
    const h = text.toString("latin1");
    const descr = /'descr':\s*'([^']+)'/.exec(h)?.[1];
    if (/'fortran_order':\s*True/.test(h))
      throw new Error(`${file}: Fortran-order arrays are not supported`);
    const shape = (/'shape':\s*\(([^)]*)\)/.exec(h)?.[1] ?? "")
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean)
      .map(Number);
    const dtype = Object.keys(DTYPES).find((k) => DTYPES[k].descr === descr) as
      | "float32"
      | "int32"
      | "uint8"
      | undefined;
    if (!dtype) throw new Error(`${file}: unsupported dtype ${descr}`);
    return { dtype, shape, offset: 8 + lenBytes + len };
  } finally {
    fs.closeSync(fd);
  }
}

/** Loads a .npy file as a tensor (the lesson's load_array); uint8 comes back as int32. */
export function loadArray(file: string): tf.Tensor {
  const { dtype, shape, offset } = readNpyHeader(file);
  const buf = fs.readFileSync(file);
  const n = shape.reduce((a, b) => a * b, 1);
  const body = new Uint8Array(buf.byteLength - offset);
  body.set(buf.subarray(offset));
  if (dtype === "uint8") return tf.tensor(Int32Array.from(body.subarray(0, n)), shape, "int32");
  const values =
    dtype === "float32" ? new Float32Array(body.buffer, 0, n) : new Int32Array(body.buffer, 0, n);
  return tf.tensor(values, shape, dtype);
}
