/** A small `--name value` / `--flag` argument parser with typed accessors and clear errors. */
export class UsageError extends Error {}

export class Args {
  readonly positional: string[] = [];
  private readonly named = new Map<string, string | true>();

  constructor(argv: readonly string[]) {
    for (let i = 0; i < argv.length; i++) {
      const arg = argv[i]!;
      if (arg.startsWith('--')) {
        const [name, inline] = arg.slice(2).split('=', 2) as [string, string | undefined];
        const next = argv[i + 1];
        if (inline !== undefined) this.named.set(name, inline);
        else if (next !== undefined && !next.startsWith('--')) {
          this.named.set(name, next);
          i++;
        } else this.named.set(name, true);
      } else this.positional.push(arg);
    }
  }

  flag(name: string): boolean {
    return this.named.get(name) === true || this.named.get(name) === 'true';
  }

  string(name: string, fallback?: string): string {
    const value = this.named.get(name);
    if (typeof value === 'string') return value;
    if (fallback !== undefined) return fallback;
    throw new UsageError(`--${name} is required`);
  }

  integer(name: string, fallback: number, min: number, max: number): number {
    const raw = this.named.get(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new UsageError(`--${name} must be an integer in [${min}, ${max}], got ${String(raw)}`);
    }
    return value;
  }

  list(name: string): string[] {
    return this.string(name)
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
  }
}
