import type { CircuitBreakerPolicy } from '../../circuit-breaker/index.js';
import type { Clock, Disposer, Scope, Subscribe } from '../../extend.js';
import { Emitter, Fail, guarded } from '../../extend.js';
import { definePolicy, type Gate, type Policy, type Result, stagesOf } from '../../index.js';
import type { Observable, ObservableGroup } from '../../metrics/observable.js';

/**
 * One circuit breaker per key (the origin, for fetch), created on first use. Bounded: at most
 * `maxKeys` breakers are kept, the least recently used is evicted beyond that, and breakers unused for
 * `idleMs` are dropped, so a client calling unbounded hosts keeps bounded memory.
 */
export interface KeyedBreakers extends Policy, ObservableGroup {
  /** The breaker for `key`, created if missing; counts as a use. Throws what a failing factory throws. */
  get(key: string): CircuitBreakerPolicy;
  /** The breaker for `key` if one is kept, without creating or touching it. */
  peek(key: string): CircuitBreakerPolicy | undefined;
  /** Breakers kept now. */
  readonly size: number;
  /** Kept keys, least recently used first. */
  keys(): string[];
  delete(key: string): boolean;
  clear(): void;
  /** A breaker was created (e.g. to add it to a PolicyRegistry). */
  readonly onCreate: Subscribe<{ readonly key: string; readonly breaker: CircuitBreakerPolicy }>;
  /** A breaker was dropped (evicted, expired, deleted or cleared). */
  readonly onEvict: Subscribe<{ readonly key: string; readonly breaker: CircuitBreakerPolicy }>;
  /**
   * Follows the breakers: `added` for each kept now and each created, `removed` for each dropped.
   * `registry.add(breakers)` (or of a pipeline holding them, such as `http.policy`) uses it.
   */
  observe(added: (breaker: Observable) => void, removed: (breaker: Observable) => void): Disposer;
}

export interface KeyedBreakersOptions {
  create: (key: string) => CircuitBreakerPolicy;
  maxKeys: number;
  idleMs: number;
  clock: Clock;
  /** How `create` is named in callback error reports (the user's option, e.g. `resilientFetch.circuitBreaker`). */
  callback: string;
  /** The integration's name, for the same reports. */
  policy: string;
}

/** What the integrations use: a lookup that never throws. */
export interface OwnKeyedBreakers extends KeyedBreakers {
  /**
   * The breaker for `key`, created if missing; counts as a use. When the factory throws or returns no
   * breaker, that is reported and the answer is undefined: the call then runs unguarded, and the next
   * call asks the factory again.
   */
  tryGet(key: string): CircuitBreakerPolicy | undefined;
}

class Entry {
  constructor(
    readonly breaker: CircuitBreakerPolicy,
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

/** Passes the call through: its key has no breaker (the factory failed). */
const UNGUARDED = Symbol('unguarded');

export function keyedBreakers(options: KeyedBreakersOptions): OwnKeyedBreakers {
  return new Keyed(options);
}

/** A breaker with a gate of its own, as `circuitBreaker()` makes; what a factory must return. */
function isBreaker(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (typeof (value as Partial<CircuitBreakerPolicy>).tryAcquire !== 'function') return false;
  let stages: ReturnType<typeof stagesOf>;
  try {
    stages = stagesOf(value as CircuitBreakerPolicy);
  } catch {
    return false;
  }
  return stages.length === 1 && stages[0]!.stage === 'gate';
}

const noBreaker = (): undefined => undefined;

class Keyed implements OwnKeyedBreakers, Gate<Token | typeof UNGUARDED> {
  readonly stage = 'gate';
  // Defined by definePolicy() in the constructor: this object is both the gate and its policy.
  declare readonly execute: Policy['execute'];
  declare readonly executeOutcome: Policy['executeOutcome'];
  // A Map iterates in insertion order: re-inserting on use keeps the least recently used first.
  readonly #entries = new Map<string, Entry>();
  readonly #create: (key: string) => CircuitBreakerPolicy;
  readonly #max: number;
  readonly #idleMs: number;
  readonly #clock: Clock;
  readonly #callback: string;
  readonly #policy: string;
  #nextSweep: number;
  readonly #onCreate = new Emitter<{ readonly key: string; readonly breaker: CircuitBreakerPolicy }>();
  readonly #onEvict = new Emitter<{ readonly key: string; readonly breaker: CircuitBreakerPolicy }>();
  readonly onCreate = this.#onCreate.subscribe;
  readonly onEvict = this.#onEvict.subscribe;

  constructor(options: KeyedBreakersOptions) {
    definePolicy(this, this);
    this.#create = options.create;
    this.#max = options.maxKeys;
    this.#idleMs = options.idleMs;
    this.#clock = options.clock;
    this.#callback = options.callback;
    this.#policy = options.policy;
    this.#nextSweep = options.idleMs === Number.POSITIVE_INFINITY ? options.idleMs : 0;
  }

  get size(): number {
    return this.#entries.size;
  }

  observe(added: (breaker: Observable) => void, removed: (breaker: Observable) => void): Disposer {
    const stopCreate = this.onCreate(({ breaker }) => added(breaker));
    const stopEvict = this.onEvict(({ breaker }) => removed(breaker));
    try {
      for (const entry of this.#entries.values()) added(entry.breaker);
    } catch (error) {
      stopCreate();
      stopEvict();
      throw error;
    }
    return () => {
      stopCreate();
      stopEvict();
    };
  }

  keys(): string[] {
    return [...this.#entries.keys()];
  }

  peek(key: string): CircuitBreakerPolicy | undefined {
    return this.#entries.get(key)?.breaker;
  }

  get(key: string): CircuitBreakerPolicy {
    return (this.#entry(key, false) as Entry).breaker;
  }

  tryGet(key: string): CircuitBreakerPolicy | undefined {
    return this.#entry(key, true)?.breaker;
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

  /** The entry of `key`; undefined when the factory fails and `guard` is set (it throws otherwise). */
  #entry(key: string, guard: boolean): Entry | undefined {
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
    const breaker = guard ? this.#guardedCreate(key) : this.#checkedCreate(key);
    if (breaker === undefined) return undefined;
    entry = new Entry(breaker, stagesOf(breaker)[0] as Gate, now);
    entries.set(key, entry);
    if (entries.size > this.#max) {
      const [oldest, old] = entries.entries().next().value as [string, Entry];
      this.#drop(oldest, old);
    }
    if (this.#onCreate.active) this.#onCreate.emit({ key, breaker });
    return entry;
  }

  #guardedCreate(key: string): CircuitBreakerPolicy | undefined {
    return guarded<string, CircuitBreakerPolicy | undefined>(
      this.#create,
      key,
      noBreaker,
      this.#callback,
      this.#policy,
      isBreaker,
    );
  }

  #checkedCreate(key: string): CircuitBreakerPolicy {
    const breaker = this.#create(key);
    if (!isBreaker(breaker))
      throw new TypeError(`${this.#callback} returned no circuit breaker for "${key}"`);
    return breaker;
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

  enter(scope: Scope): Token | typeof UNGUARDED | Fail {
    const entry = this.#entry(scope.key ?? '', true);
    if (entry === undefined) return UNGUARDED;
    const gate = entry.gate;
    const token = gate.enter(scope);
    return token instanceof Fail ? token : new Token(gate, token);
  }

  exit(scope: Scope, token: Token | typeof UNGUARDED, result: Result): Result {
    if (token === UNGUARDED) return result;
    return token.gate.exit(scope, token.inner, result) as Result;
  }
}
