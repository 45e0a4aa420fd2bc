/**
 * A training progress display: a live bar (epoch, batch, loss, metrics, ETA) updated in place,
 * that leaves one compact line per finished epoch, which is what exported HTML shows.
 */
import { DisplayHandle, escapeHtml } from "./show";

export type Logs = Record<string, number | undefined>;

export interface ProgressOptions {
  /** Total epochs, when known. */
  epochs?: number;
  /** Batches per epoch, when known (for the bar and the ETA). */
  batchesPerEpoch?: number;
  /** A title above the log. */
  title?: string;
  /** Least milliseconds between two in-place updates (default 250). */
  throttleMs?: number;
}

function formatLogs(logs: Logs): string {
  return Object.entries(logs)
    .filter(([, v]) => typeof v === "number")
    .map(
      ([k, v]) =>
        `${k} ${Math.abs(v!) >= 1e4 || (Math.abs(v!) < 1e-3 && v !== 0) ? v!.toExponential(3) : v!.toFixed(4)}`,
    )
    .join(" · ");
}

function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return "?";
  if (s < 60) return `${s.toFixed(1)}s`;
  return `${Math.floor(s / 60)}m${Math.round(s % 60)
    .toString()
    .padStart(2, "0")}s`;
}

/** Live progress for a training run; pass `progress.callbacks()` to `model.fit`, or call its methods from a custom loop. */
export class TrainingProgress {
  readonly lines: string[] = [];
  private readonly handle = new DisplayHandle();
  private epoch = 0;
  private epochStart = 0;
  private lastUpdate = 0;
  private batch = 0;
  private live = "";

  constructor(private readonly options: ProgressOptions = {}) {}

  epochBegin(epoch: number): void {
    this.epoch = epoch;
    this.batch = 0;
    this.epochStart = Date.now();
    this.live = `epoch ${epoch + 1}${this.options.epochs ? `/${this.options.epochs}` : ""} starting`;
    this.render(true);
  }

  batchEnd(batch: number, logs: Logs = {}): void {
    this.batch = batch + 1;
    const now = Date.now();
    if (now - this.lastUpdate < (this.options.throttleMs ?? 250)) return;
    const total = this.options.batchesPerEpoch;
    const elapsed = (now - this.epochStart) / 1000;
    const eta = total ? (elapsed / this.batch) * (total - this.batch) : NaN;
    const bar = total
      ? `[${"#".repeat(Math.round((20 * this.batch) / total)).padEnd(20, ".")}] `
      : "";
    this.live = `epoch ${this.epoch + 1}${this.options.epochs ? `/${this.options.epochs}` : ""} ${bar}batch ${this.batch}${total ? `/${total}` : ""} · ${formatLogs(logs)} · ETA ${formatSeconds(eta)}`;
    this.render(false);
  }

  epochEnd(epoch: number, logs: Logs = {}): void {
    const seconds = (Date.now() - this.epochStart) / 1000;
    this.lines.push(
      `epoch ${epoch + 1}${this.options.epochs ? `/${this.options.epochs}` : ""} · ${formatLogs(logs)} · ${formatSeconds(seconds)}`,
    );
    this.live = "";
    this.render(true);
  }

  /** Callbacks in the shape `model.fit` / `model.fitDataset` take. */
  callbacks() {
    return {
      onEpochBegin: async (epoch: number) => this.epochBegin(epoch),
      onBatchEnd: async (batch: number, logs?: Logs) => this.batchEnd(batch, logs),
      onEpochEnd: async (epoch: number, logs?: Logs) => this.epochEnd(epoch, logs),
    };
  }

  private render(force: boolean): void {
    if (!force && Date.now() - this.lastUpdate < (this.options.throttleMs ?? 250)) return;
    this.lastUpdate = Date.now();
    const title = this.options.title ? `${this.options.title}\n` : "";
    const all = [...this.lines, ...(this.live ? [this.live] : [])];
    this.handle.update({
      "text/plain": title + all.join("\n"),
      "text/html": `<pre class="lesson4-progress" style="margin:0;font-size:12px;line-height:1.35">${this.options.title ? `<b>${escapeHtml(this.options.title)}</b>\n` : ""}${all.map(escapeHtml).join("\n")}</pre>`,
    });
  }
}

/** Starts a progress display. */
export function trainingProgress(options: ProgressOptions = {}): TrainingProgress {
  return new TrainingProgress(options);
}
