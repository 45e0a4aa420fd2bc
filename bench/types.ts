/**
 * The shape every benchmark in bench/ shares, so `npm run bench` can discover, repeat and compare
 * them with their peers in one run. A benchmark file is `bench/<name>.bench.ts` exporting
 * `default` (one Benchmark) or `benchmarks` (several).
 */

/** What one timed run measured. */
export interface Measurement {
  /** Wall-clock seconds of the timed unit of work (one epoch, one pass over N images, ...). */
  seconds: number;
  /** The quality that run reached (RMSE, accuracy, ...), or null where it has none. */
  quality: number | null;
  /** Extra figures worth printing, e.g. images per second. */
  extra?: Record<string, number | string>;
}

/** A peer measured in the same run (PyTorch or Keras), or why it was skipped. */
export type PeerResult = { skipped: string } | Measurement;

export interface Benchmark {
  /** Short kebab-case name; `npm run bench -- NAME` selects benchmarks whose name contains NAME. */
  name: string;
  /** What the quality number is, e.g. "validation RMSE" or "accuracy". */
  qualityLabel?: string;
  /** One-off preparation (data loading, model build), not timed. */
  setup?(): Promise<void>;
  /** One timed repetition on this project's engine. */
  run(): Promise<Measurement>;
  /** The PyTorch peer's measurements of the same work (it runs its own warm-up and repetitions). */
  peer?(repetitions: number): Promise<PeerResult[] | { skipped: string }>;
  /** The same work in Keras (the lesson was taught in Keras), run after the PyTorch peer. */
  keras?(repetitions: number): Promise<PeerResult[] | { skipped: string }>;
  /**
   * Where the work differs between ours and a peer (a different model cut, weights, optimizer
   * variant, ...), so the table says so beside the row; absent when all three do the same work.
   */
  note?: string;
  /** XNNPACK threads on wasm (initBackend's option; LESSON4_WASM_THREADS overrides): "all" for image models, default 1. */
  threads?: "all" | number;
  /** Which tfjs backend ran (filled from lib/engine/backend.ts by default). */
  backend?(): string;
  teardown?(): Promise<void>;
}
