/**
 * The project's kernel's comms as lib code sees them (kernel/comms.cjs puts them on globalThis):
 * widgets talk to the front end over these. Outside the kernel there are none.
 */

/** A JSON object, as comm messages carry. */
export type Json = Record<string, unknown>;

/** What a handler gets for a front end's message. */
export interface CommEvent {
  data: Json;
  metadata: Json;
  buffers: Buffer[];
  header: Json;
}

type Handler = (data: Json, event: CommEvent) => void | Promise<void>;

/** One open comm (kernel/README.md, "Comms and input, for lib code"). */
export interface Comm {
  readonly id: string;
  readonly targetName: string;
  readonly closed: boolean;
  send(data?: Json, metadata?: Json, buffers?: ArrayBufferView[]): void;
  onMsg(handler: Handler): Comm;
  onClose(handler: Handler): Comm;
  close(data?: Json, metadata?: Json): void;
}

/** The kernel's comm registry. */
export interface Comms {
  registerTarget(name: string, handler: (comm: Comm, event: CommEvent) => unknown): void;
  unregisterTarget(name: string): void;
  open(targetName: string, data?: Json, metadata?: Json, buffers?: ArrayBufferView[]): Comm;
  get(id: string): Comm | null;
  list(): Comm[];
}

const COMMS = Symbol.for("lesson4-ts.comms");

/** The running kernel's comms, or null outside the project's kernel (scripts, tests). */
export function kernelComms(): Comms | null {
  return ((globalThis as Record<symbol, unknown>)[COMMS] as Comms | undefined) ?? null;
}
