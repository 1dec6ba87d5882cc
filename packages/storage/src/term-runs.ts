/**
 * The term of every index of a log, as runs of equal terms (terms never decrease along a Raft
 * log, and change rarely). Kept for removed entries too: compaction never drops the first
 * entry of a term, so runs always start at a stored entry and can be rebuilt on open.
 */
export class TermRuns {
  private starts: number[] = [];
  private terms: number[] = [];

  /** `base` is the index before the first one held (firstIndex - 1), with its term. */
  constructor(base: number, baseTerm: number) {
    this.reset(base, baseTerm);
  }

  reset(base: number, baseTerm: number): void {
    this.starts = [base];
    this.terms = [baseTerm];
  }

  get lastTerm(): number {
    return this.terms[this.terms.length - 1]!;
  }

  get base(): number {
    return this.starts[0]!;
  }

  /** Records that `index` (above every earlier index) has `term`. */
  push(index: number, term: number): void {
    if (term !== this.lastTerm) {
      this.starts.push(index);
      this.terms.push(term);
    }
  }

  private find(index: number): number {
    let low = 0;
    let high = this.starts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >>> 1;
      if (this.starts[mid]! <= index) low = mid;
      else high = mid - 1;
    }
    return low;
  }

  /** Term at `index`; the caller checks that base <= index <= lastIndex. */
  termAt(index: number): number {
    return this.terms[this.find(index)]!;
  }

  /** True if a new term starts exactly at `index` (the entry there must be kept). */
  startsAt(index: number): boolean {
    const run = this.find(index);
    return run > 0 && this.starts[run] === index;
  }

  truncateAfter(index: number): void {
    while (this.starts.length > 1 && this.starts[this.starts.length - 1]! > index) {
      this.starts.pop();
      this.terms.pop();
    }
  }

  /** Forgets indexes below `before`; `before - 1` becomes the base. */
  compactBefore(before: number): void {
    const run = this.find(before - 1);
    const term = this.terms[run]!;
    this.starts.splice(0, run + 1, before - 1);
    this.terms.splice(0, run + 1, term);
  }
}
