/** Maps sparse MovieLens ids to contiguous indices (for Embedding rows) and back. */

/** A two-way map between ids and 0..size-1, in first-seen or sorted order. */
export class IdIndex {
  private readonly toIdx = new Map<number, number>();
  readonly ids: number[];

  /** Builds the index from ids (duplicates ignored); sorted ascending so the order does not depend on row order. */
  constructor(ids: Iterable<number>) {
    this.ids = Array.from(new Set(ids)).sort((a, b) => a - b);
    this.ids.forEach((id, i) => this.toIdx.set(id, i));
  }

  get size(): number {
    return this.ids.length;
  }

  has(id: number): boolean {
    return this.toIdx.has(id);
  }

  /** The index of `id`, or -1 when the id is unknown (never a wrong index). */
  index(id: number): number {
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
    for (let i = 0; i < ids.length; i++) out[i] = this.index(ids[i]);
    return out;
  }
}
