/** Maps sparse MovieLens ids to contiguous indices (for Embedding rows) and back. */

/**
 * Ids up to this bound are indexed through a dense Int32Array table (one slot per possible id)
 * instead of a Map: at 25M ratings a Map look-up per row costs seconds, the table a few ms.
 */
const DENSE_LIMIT = 1 << 24;

/** A two-way map between ids and 0..size-1, in first-seen or sorted order. */
export class IdIndex {
  private readonly toIdx = new Map<number, number>();
  /** toIdx as a table indexed by id (-1: unknown), when every id is a whole number in 0..DENSE_LIMIT. */
  private readonly table: Int32Array | null;
  readonly ids: number[];

  /** Builds the index from ids (duplicates ignored); sorted ascending so the order does not depend on row order. */
  constructor(ids: Iterable<number>) {
    this.ids = Array.from(new Set(ids)).sort((a, b) => a - b);
    this.ids.forEach((id, i) => this.toIdx.set(id, i));
    const max = this.ids.length ? this.ids[this.ids.length - 1] : 0;
    // A table at most a few times the index's own size (or 4 MB): a few huge ids keep the Map.
    const small =
      max <= Math.max(1 << 20, 8 * this.ids.length) &&
      this.ids.every((id) => Number.isInteger(id) && id >= 0 && id <= DENSE_LIMIT);
    this.table = small ? new Int32Array(max + 1).fill(-1) : null;
    if (this.table) this.ids.forEach((id, i) => (this.table![id] = i));
  }

  /**
   * The index of the ids in several columns (e.g. training and validation user ids), built
   * without concatenating them: the same index as `new IdIndex([...a, ...b])`.
   */
  static of(...columns: Array<ArrayLike<number> | null | undefined>): IdIndex {
    return new IdIndex(distinct(columns.filter((c): c is ArrayLike<number> => c != null)));
  }

  get size(): number {
    return this.ids.length;
  }

  has(id: number): boolean {
    return this.toIdx.has(id);
  }

  /** The index of `id`, or -1 when the id is unknown (never a wrong index). */
  index(id: number): number {
    const table = this.table;
    if (table) return Number.isInteger(id) && id >= 0 && id < table.length ? table[id] : -1;
    return this.toIdx.get(id) ?? -1;
  }

  /** The id at `index`; throws for an index outside 0..size-1. */
  id(index: number): number {
    if (!Number.isInteger(index) || index < 0 || index >= this.ids.length)
      throw new RangeError(`index ${index} is outside 0..${this.ids.length - 1}`);
    return this.ids[index];
  }

  /** Indices of many ids at once (-1 for unknown ones). */
  indices(ids: ArrayLike<number>): Int32Array {
    const out = new Int32Array(ids.length);
    const table = this.table;
    if (table) {
      for (let i = 0; i < ids.length; i++) {
        const id = ids[i];
        out[i] = id >= 0 && id < table.length && Number.isInteger(id) ? table[id] : -1;
      }
    } else for (let i = 0; i < ids.length; i++) out[i] = this.index(ids[i]);
    return out;
  }
}

/**
 * The distinct values of the columns: through a presence table when they are all small whole
 * numbers (25M ids in well under a second, no Set of them), else through a Set.
 */
function distinct(columns: ArrayLike<number>[]): number[] {
  let max = 0;
  let small = true;
  for (const c of columns)
    for (let i = 0; i < c.length && small; i++) {
      const v = c[i];
      if (!(Number.isInteger(v) && v >= 0 && v <= DENSE_LIMIT)) small = false;
      else if (v > max) max = v;
    }
  if (!small) {
    const set = new Set<number>();
    for (const c of columns) for (let i = 0; i < c.length; i++) set.add(c[i]);
    return Array.from(set);
  }
  const seen = new Uint8Array(max + 1);
  for (const c of columns) for (let i = 0; i < c.length; i++) seen[c[i]] = 1;
  const out: number[] = [];
  for (let v = 0; v <= max; v++) if (seen[v]) out.push(v);
  return out;
}
