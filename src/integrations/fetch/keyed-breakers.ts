import type { CircuitBreaker } from '../../circuit-breaker/index.js';
import type { Clock } from '../../core/clock.js';
import type { Scope } from '../../core/context.js';
import { Emitter, type Subscribe } from '../../core/events.js';
import { Fail } from '../../core/outcome.js';
import { Executor, type Gate, type Policy, STAGES, type Stage } from '../../core/policy.js';

/**
 * One circuit breaker per key (the origin, for fetch), created on first use. Bounded: at most
 * `maxKeys` breakers are kept, the least recently used is evicted beyond that, and breakers unused for
 * `idleMs` are dropped, so a client calling unbounded hosts keeps bounded memory.
 */
export interface KeyedBreakers extends Policy {
  /** The breaker for `key`, created if missing; counts as a use. */
  get(key: string): CircuitBreaker;
  /** The breaker for `key` if one is kept, without creating or touching it. */
  peek(key: string): CircuitBreaker | undefined;
  /** Breakers kept now. */
  readonly size: number;
  /** Kept keys, least recently used first. */
  keys(): string[];
  delete(key: string): boolean;
  clear(): void;
  /** A breaker was created (e.g. to add it to a PolicyRegistry). */
  readonly onCreate: Subscribe<{ readonly key: string; readonly breaker: CircuitBreaker }>;
  /** A breaker was dropped (evicted, expired, deleted or cleared). */
  readonly onEvict: Subscribe<{ readonly key: string; readonly breaker: CircuitBreaker }>;
}

export interface KeyedBreakersOptions {
  create: (key: string) => CircuitBreaker;
  maxKeys: number;
  idleMs: number;
  clock: Clock;
}

class Entry {
  constructor(
    readonly breaker: CircuitBreaker,
    readonly gate: Gate,
    public usedAt: number,
  ) {}
}

/** Carries the breaker's own token with the gate that issued it (the entry may be evicted meanwhile). */
class Token {
  constructor(
    readonly gate: Gate,
    readonly inner: unknown,
  ) {}
}

export function keyedBreakers(options: KeyedBreakersOptions): KeyedBreakers {
  return new Keyed(options);
}

class Keyed extends Executor implements KeyedBreakers, Gate {
  readonly stage = 'gate';
  readonly scoped = false;
  readonly [STAGES]: readonly Stage[] = [this];
  // A Map iterates in insertion order: re-inserting on use keeps the least recently used first.
  readonly #entries = new Map<string, Entry>();
  readonly #create: (key: string) => CircuitBreaker;
  readonly #max: number;
  readonly #idleMs: number;
  readonly #clock: Clock;
  #nextSweep: number;
  readonly #onCreate = new Emitter<{ readonly key: string; readonly breaker: CircuitBreaker }>();
  readonly #onEvict = new Emitter<{ readonly key: string; readonly breaker: CircuitBreaker }>();
  readonly onCreate = this.#onCreate.subscribe;
  readonly onEvict = this.#onEvict.subscribe;

  constructor(options: KeyedBreakersOptions) {
    super();
    this.#create = options.create;
    this.#max = options.maxKeys;
    this.#idleMs = options.idleMs;
    this.#clock = options.clock;
    this.#nextSweep = options.idleMs === Number.POSITIVE_INFINITY ? options.idleMs : 0;
  }

  get size(): number {
    return this.#entries.size;
  }

  keys(): string[] {
    return [...this.#entries.keys()];
  }

  peek(key: string): CircuitBreaker | undefined {
    return this.#entries.get(key)?.breaker;
  }

  get(key: string): CircuitBreaker {
    return this.#entry(key).breaker;
  }

  delete(key: string): boolean {
    const entry = this.#entries.get(key);
    if (entry === undefined) return false;
    this.#drop(key, entry);
    return true;
  }

  clear(): void {
    for (const [key, entry] of this.#entries) this.#drop(key, entry);
  }

  #entry(key: string): Entry {
    const now = this.#clock.now();
    if (now >= this.#nextSweep) this.#expire(now);
    const entries = this.#entries;
    let entry = entries.get(key);
    if (entry !== undefined) {
      entry.usedAt = now;
      if (entries.size > 1) {
        entries.delete(key);
        entries.set(key, entry);
      }
      return entry;
    }
    const breaker = this.#create(key);
    entry = new Entry(breaker, breaker[STAGES][0] as Gate, now);
    entries.set(key, entry);
    if (entries.size > this.#max) {
      const [oldest, old] = entries.entries().next().value as [string, Entry];
      this.#drop(oldest, old);
    }
    if (this.#onCreate.active) this.#onCreate.emit({ key, breaker });
    return entry;
  }

  /** Drops breakers idle for `idleMs`: the least recently used come first, so stop at the first fresh one. */
  #expire(now: number): void {
    // Sweeping on every call would cost an iterator per call; an eighth of the idle time is precise enough.
    this.#nextSweep = now + this.#idleMs / 8;
    for (const [key, entry] of this.#entries) {
      if (now - entry.usedAt < this.#idleMs) return;
      this.#drop(key, entry);
    }
  }

  #drop(key: string, entry: Entry): void {
    this.#entries.delete(key);
    if (this.#onEvict.active) this.#onEvict.emit({ key, breaker: entry.breaker });
  }

  // --- Gate: the call's key picks the breaker ---------------------------------------------------------

  enter(scope: Scope): unknown {
    const gate = this.#entry(scope.key ?? '').gate;
    const token = gate.enter(scope);
    return token instanceof Fail ? token : new Token(gate, token);
  }

  exit(scope: Scope, token: unknown, result: unknown): unknown {
    const t = token as Token;
    return t.gate.exit(scope, t.inner, result);
  }
}
