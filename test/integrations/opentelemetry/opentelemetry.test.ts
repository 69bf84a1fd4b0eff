import type { Attributes } from '@opentelemetry/api';
import {
  AggregationTemporality,
  DataPointType,
  type Histogram,
  InMemoryMetricExporter,
  MeterProvider,
  type MetricData,
  MetricReader,
  PeriodicExportingMetricReader,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import { afterEach, describe, expect, it } from 'vitest';
import { Emitter } from '../../../src/core/events.js';
import {
  bulkhead,
  circuitBreaker,
  fallback,
  type PolicyEvent,
  pipeline,
  policyRegistry,
  retry,
  slo,
  timeout,
} from '../../../src/index.js';
import { registerOpenTelemetry } from '../../../src/integrations/opentelemetry/index.js';
import { deferred, FakeClock, flush } from '../../helpers.js';

/** A reader that collects only when asked: no timer, nothing exported in the background. */
class ManualReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

function setup(
  options: Parameters<typeof registerOpenTelemetry>[2] = {},
  readerOptions?: ConstructorParameters<typeof ManualReader>[0],
) {
  const clock = new FakeClock();
  const registry = policyRegistry();
  const reader = new ManualReader(readerOptions);
  const provider = new MeterProvider({ readers: [reader] });
  cleanup.push(() => provider.shutdown());
  const exporter = registerOpenTelemetry(registry, provider.getMeter('breakwater-test'), options);
  cleanup.push(() => exporter.close());
  const collect = async () => {
    const { resourceMetrics, errors } = await reader.collect();
    expect(errors).toEqual([]);
    return resourceMetrics;
  };
  const delay = (ms: number) => new Promise<string>((resolve) => clock.setTimer(() => resolve('ok'), ms));
  return { clock, registry, exporter, collect, delay };
}

function metric(rm: ResourceMetrics, name: string): MetricData | undefined {
  for (const scope of rm.scopeMetrics) {
    const found = scope.metrics.find((m) => m.descriptor.name === name);
    if (found) return found;
  }
  return undefined;
}

function matches(attributes: Attributes, wanted: Attributes): boolean {
  return Object.entries(wanted).every(([k, v]) => attributes[k] === v);
}

/** The value of the single point of a counter or gauge with (at least) these attributes. */
function point(rm: ResourceMetrics, name: string, wanted: Attributes): number | undefined {
  const m = metric(rm, name);
  if (m === undefined) return undefined;
  const points = m.dataPoints.filter((p) => matches(p.attributes, wanted));
  if (points.length > 1)
    throw new Error(`${points.length} points of ${name} match ${JSON.stringify(wanted)}`);
  return points[0]?.value as number | undefined;
}

function histogram(rm: ResourceMetrics, name: string, wanted: Attributes): Histogram | undefined {
  const m = metric(rm, name);
  if (m === undefined) return undefined;
  expect(m.dataPointType).toBe(DataPointType.HISTOGRAM);
  const points = m.dataPoints.filter((p) => matches(p.attributes, wanted));
  expect(points.length).toBeLessThanOrEqual(1);
  return points[0]?.value as Histogram | undefined;
}

const NAME = 'resilience.policy.name';
const KIND = 'resilience.policy.kind';
const OUTCOME = 'resilience.call.outcome';

describe('OpenTelemetry exporter, read by the SDK', () => {
  it('records call durations in seconds with policy, kind and outcome attributes', async () => {
    const { clock, registry, collect, delay } = setup();
    const policy = pipeline(
      circuitBreaker({ name: 'api', clock }),
      timeout({ name: 'api-timeout', durationMs: 100, clock }),
    );
    registry.add(policy);
    for (let i = 0; i < 3; i++) {
      const call = policy.execute(() => delay(20));
      await clock.tick(20);
      await call;
    }
    const slow = policy.executeOutcome(() => delay(500));
    await clock.tick(100);
    expect((await slow).ok).toBe(false);

    const rm = await collect();
    const d = metric(rm, 'resilience.call.duration')!;
    expect(d.descriptor.unit).toBe('s');
    const ok = histogram(rm, 'resilience.call.duration', {
      [NAME]: 'api',
      [KIND]: 'circuitBreaker',
      [OUTCOME]: 'success',
    })!;
    expect(ok.count).toBe(3);
    expect(ok.sum).toBeCloseTo(0.06, 12);
    expect(ok.min).toBeCloseTo(0.02, 12);
    // Default boundaries are advised to the SDK: 0.01 < 0.02 <= 0.025.
    expect(ok.buckets.boundaries.slice(0, 5)).toEqual([0.001, 0.0025, 0.005, 0.01, 0.025]);
    expect(ok.buckets.counts[4]).toBe(3);
    const failed = histogram(rm, 'resilience.call.duration', { [NAME]: 'api', [OUTCOME]: 'failure' })!;
    expect(failed.count).toBe(1);
    expect(failed.sum).toBeCloseTo(0.1, 12);
    expect(point(rm, 'resilience.timeouts', { [NAME]: 'api-timeout', [KIND]: 'timeout' })).toBe(1);
    expect(metric(rm, 'resilience.timeouts')!.descriptor.unit).toBe('{timeout}');
  });

  it('counts rejections, transitions and events and observes the breaker state at collection', async () => {
    const { clock, registry, collect } = setup();
    const breaker = circuitBreaker({
      name: 'payments',
      window: { kind: 'consecutive', failures: 2 },
      breakDurationMs: 1_000,
      clock,
    });
    registry.add(breaker);
    const state = (rm: ResourceMetrics, s: string) =>
      point(rm, 'resilience.circuit_breaker.state', {
        [NAME]: 'payments',
        'resilience.circuit_breaker.state': s,
      });
    let rm = await collect();
    expect(state(rm, 'closed')).toBe(1);
    expect(state(rm, 'open')).toBe(0);

    for (let i = 0; i < 2; i++) await breaker.executeOutcome(() => Promise.reject(new Error('down')));
    await breaker.executeOutcome(() => 'never runs');
    rm = await collect();
    expect(
      point(rm, 'resilience.rejections', { [NAME]: 'payments', 'resilience.rejection.reason': 'open' }),
    ).toBe(1);
    expect(
      point(rm, 'resilience.circuit_breaker.transitions', {
        [NAME]: 'payments',
        'resilience.circuit_breaker.previous_state': 'closed',
        'resilience.circuit_breaker.state': 'open',
      }),
    ).toBe(1);
    expect(state(rm, 'open')).toBe(1);
    expect(state(rm, 'closed')).toBe(0);
    expect(metric(rm, 'resilience.circuit_breaker.state')!.dataPoints.length).toBe(6);
    const s = breaker.snapshot();
    expect(point(rm, 'resilience.circuit_breaker.failure_ratio', { [NAME]: 'payments' })).toBe(s.failureRate);
    expect(point(rm, 'resilience.circuit_breaker.slow_call_ratio', { [NAME]: 'payments' })).toBe(
      s.slowCallRate,
    );
    expect(point(rm, 'resilience.circuit_breaker.window.calls', { [NAME]: 'payments' })).toBe(s.calls);
    expect(point(rm, 'resilience.circuit_breaker.active_calls', { [NAME]: 'payments' })).toBe(0);
    expect(point(rm, 'resilience.events', { [NAME]: 'payments', 'resilience.event.type': 'state' })).toBe(1);
    expect(point(rm, 'resilience.events', { [NAME]: 'payments', 'resilience.event.type': 'call' })).toBe(2);

    // Counters are cumulative and monotonic; the state follows manual changes.
    breaker.close();
    await breaker.execute(() => 'ok');
    rm = await collect();
    expect(metric(rm, 'resilience.rejections')!.aggregationTemporality).toBe(
      AggregationTemporality.CUMULATIVE,
    );
    expect(
      point(rm, 'resilience.rejections', { [NAME]: 'payments', 'resilience.rejection.reason': 'open' }),
    ).toBe(1);
    expect(point(rm, 'resilience.events', { [NAME]: 'payments', 'resilience.event.type': 'call' })).toBe(3);
    expect(state(rm, 'closed')).toBe(1);
    expect(state(rm, 'open')).toBe(0);
  });

  it('observes bulkhead usage and records queue waits', async () => {
    const { clock, registry, collect } = setup();
    const pool = bulkhead({ name: 'db-pool', limit: 2, queue: 3, clock });
    registry.add(pool);
    const held = [deferred(), deferred(), deferred()];
    const calls = held.map((d) => pool.execute(() => d.promise));
    await flush();
    let rm = await collect();
    const calls$ = (r: ResourceMetrics, st: string) =>
      point(r, 'resilience.bulkhead.calls', { [NAME]: 'db-pool', 'resilience.bulkhead.call.state': st });
    expect(calls$(rm, 'inflight')).toBe(2);
    expect(calls$(rm, 'queued')).toBe(1);
    expect(point(rm, 'resilience.bulkhead.limit', { [NAME]: 'db-pool' })).toBe(2);
    expect(point(rm, 'resilience.bulkhead.queue.limit', { [NAME]: 'db-pool' })).toBe(3);
    expect(metric(rm, 'resilience.bulkhead.calls')!.descriptor.unit).toBe('{call}');

    await clock.tick(40);
    held[0]!.resolve('a');
    await flush();
    rm = await collect();
    expect(calls$(rm, 'queued')).toBe(0);
    const wait = histogram(rm, 'resilience.bulkhead.queue.wait.duration', { [NAME]: 'db-pool' })!;
    expect(wait.count).toBe(1);
    expect(wait.sum).toBeCloseTo(0.04, 12);
    held[1]!.resolve('b');
    held[2]!.resolve('c');
    await Promise.all(calls);
  });

  it('observes SLO error budgets, compliance, burn rates and alerts', async () => {
    const { clock, registry, collect } = setup();
    const objective = slo({
      name: 'checkout',
      availability: 0.9,
      resolutionMs: 1_000,
      windowMs: 60_000,
      alerts: [{ name: 'fast', longWindowMs: 10_000, shortWindowMs: 2_000, burnRate: 2 }],
      clock,
    });
    registry.add(objective);
    for (let i = 0; i < 10; i++) {
      clock.advance(100);
      objective.record(i < 5 ? 'success' : 'failure', 1);
    }
    clock.advance(1_000);
    const rm = await collect();
    const base = { 'resilience.policy.name': 'checkout', 'resilience.slo.objective': 'availability' };
    expect(point(rm, 'resilience.slo.error_budget.remaining', base)).toBeCloseTo(-4, 10);
    expect(point(rm, 'resilience.slo.compliance', base)).toBe(0.5);
    expect(
      point(rm, 'resilience.slo.burn_rate', {
        ...base,
        'resilience.slo.alert': 'fast',
        'resilience.slo.window': 'long',
      }),
    ).toBeCloseTo(5, 10);
    expect(point(rm, 'resilience.slo.alert.active', { ...base, 'resilience.slo.alert': 'fast' })).toBe(1);
  });

  it('counts retries, give-ups and fallbacks, with zero points for registered policies', async () => {
    const { clock, registry, collect } = setup();
    const r = retry({ name: 'r', maxRetries: 2, backoff: 10, clock });
    const fb = fallback({ name: 'fb', fallback: () => 'cached', clock });
    registry.add(pipeline(fb, r));
    let rm = await collect();
    expect(point(rm, 'resilience.retries', { [NAME]: 'r' })).toBe(0);
    expect(point(rm, 'resilience.fallbacks', { [NAME]: 'fb' })).toBe(0);

    const call = pipeline(fb, r).execute(() => Promise.reject(new Error('down')), { key: 'user-7' });
    await clock.tick(10);
    await clock.tick(10);
    expect(await call).toBe('cached');
    rm = await collect();
    expect(point(rm, 'resilience.retries', { [NAME]: 'r', [KIND]: 'retry' })).toBe(2);
    expect(
      point(rm, 'resilience.retry.give_ups', {
        [NAME]: 'r',
        'resilience.retry.give_up.reason': 'max-attempts',
      }),
    ).toBe(1);
    expect(point(rm, 'resilience.fallbacks', { [NAME]: 'fb' })).toBe(1);
    // Attributes are bounded: the call key appears nowhere.
    const keys = new Set<string>();
    for (const scope of rm.scopeMetrics) {
      for (const m of scope.metrics)
        for (const p of m.dataPoints) for (const k of Object.keys(p.attributes)) keys.add(k);
    }
    expect(JSON.stringify(rm.scopeMetrics)).not.toContain('user-7');
    for (const k of keys) expect(k.startsWith('resilience.')).toBe(true);
  });

  it('records durations only for durationKinds, and counts every kind', async () => {
    const { clock, registry, collect } = setup({ durationKinds: ['timeout'] });
    const policy = pipeline(
      circuitBreaker({ name: 'cb', clock }),
      timeout({ name: 't', durationMs: 100, clock }),
    );
    registry.add(policy);
    await policy.execute(() => 1);
    const rm = await collect();
    expect(histogram(rm, 'resilience.call.duration', { [NAME]: 't' })!.count).toBe(1);
    expect(histogram(rm, 'resilience.call.duration', { [NAME]: 'cb' })).toBeUndefined();
    expect(point(rm, 'resilience.events', { [NAME]: 'cb', 'resilience.event.type': 'call' })).toBe(1);
  });

  it('exports through a PeriodicExportingMetricReader to the in-memory exporter', async () => {
    const registry = policyRegistry();
    const breaker = circuitBreaker({ name: 'svc' });
    registry.add(breaker);
    const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 60_000 });
    const provider = new MeterProvider({ readers: [reader] });
    const otel = registerOpenTelemetry(registry, provider.getMeter('svc'));
    try {
      await breaker.execute(() => 1);
      await reader.forceFlush();
      const exported = exporter.getMetrics();
      expect(exported.length).toBeGreaterThan(0);
      const rm = exported.at(-1)!;
      expect(histogram(rm, 'resilience.call.duration', { [NAME]: 'svc', [OUTCOME]: 'success' })!.count).toBe(
        1,
      );
      expect(
        point(rm, 'resilience.circuit_breaker.state', {
          [NAME]: 'svc',
          'resilience.circuit_breaker.state': 'closed',
        }),
      ).toBe(1);
      const names = rm.scopeMetrics.flatMap((s) => s.metrics.map((m) => m.descriptor.name));
      expect(names).toContain('resilience.events');
      for (const name of names) expect(otel.instrumentNames).toContain(name);
    } finally {
      otel.close();
      await provider.shutdown();
    }
  });

  it('close() stops recording and observing', async () => {
    const { registry, collect, exporter } = setup();
    const events = new Emitter<PolicyEvent>();
    let snapshots = 0;
    registry.add({
      kind: 'circuitBreaker',
      name: 'fake',
      onEvent: events.subscribe,
      snapshot: () => {
        snapshots++;
        return { kind: 'circuitBreaker', name: 'fake', state: 'open' };
      },
    });
    expect(events.active).toBe(true);
    const rm = await collect();
    expect(snapshots).toBe(1);
    expect(
      point(rm, 'resilience.circuit_breaker.state', {
        [NAME]: 'fake',
        'resilience.circuit_breaker.state': 'open',
      }),
    ).toBe(1);
    // A snapshot missing figures only skips them.
    expect(point(rm, 'resilience.circuit_breaker.failure_ratio', { [NAME]: 'fake' })).toBeUndefined();
    exporter.close();
    exporter.close();
    expect(events.active).toBe(false);
    // The SDK may still report the last cumulative points; the callback is no longer called.
    await collect();
    expect(snapshots).toBe(1);
  });
});

/** Counts clock reads: a policy nobody listens to measures nothing, so reads nothing. */
class CountingClock extends FakeClock {
  reads = 0;
  override now(): number {
    this.reads++;
    return super.now();
  }
}

/** Every policy name in the collected points, by instrument. */
function namesByInstrument(rm: ResourceMetrics): Map<string, Set<unknown>> {
  const out = new Map<string, Set<unknown>>();
  for (const scope of rm.scopeMetrics) {
    for (const m of scope.metrics)
      out.set(m.descriptor.name, new Set(m.dataPoints.map((p) => p.attributes[NAME])));
  }
  return out;
}

// Delta temporality: each collection holds what was observed or recorded since the last one, so stale
// points would show. Under cumulative temporality the SDK itself keeps every attribute set it has seen
// (opentelemetry.md, "Policies that come and go").
const DELTA = { aggregationTemporalitySelector: () => AggregationTemporality.DELTA };

describe('OpenTelemetry exporter, policies leaving the registry', () => {
  it('stops observing a removed policy, in every instrument, and stops listening to it', async () => {
    const { clock, registry, exporter, collect, delay } = setup({}, DELTA);
    const kept = circuitBreaker({ name: 'kept', clock });
    registry.add(kept);
    await kept.execute(() => 1);

    const breaker = circuitBreaker({ name: 'gone-cb', window: { kind: 'consecutive', failures: 1 }, clock });
    const r = retry({ name: 'gone-retry', maxRetries: 1, backoff: 10, clock });
    const fb = fallback({ name: 'gone-fb', fallback: () => 'cached', clock });
    const deadline = timeout({ name: 'gone-timeout', durationMs: 10, clock });
    const pool = bulkhead({ name: 'gone-pool', limit: 1, queue: 1, clock });
    const objective = slo({ name: 'gone-slo', availability: 0.9, clock });
    const fake = new Emitter<PolicyEvent>();
    const fakePolicy = {
      kind: 'timeout' as const,
      name: 'gone-fake',
      onEvent: fake.subscribe,
      snapshot: () => ({ kind: 'timeout' as const, name: 'gone-fake' }),
    };
    const gone = [breaker, r, fb, deadline, pool, objective, fakePolicy];
    registry.add(...gone);

    await breaker.executeOutcome(() => Promise.reject(new Error('down')));
    await breaker.executeOutcome(() => 'rejected: open');
    const retried = r.executeOutcome(() => Promise.reject(new Error('down')));
    await clock.tick(10);
    expect((await retried).ok).toBe(false);
    expect(await fb.execute(() => Promise.reject(new Error('down')))).toBe('cached');
    const slow = deadline.executeOutcome(() => delay(50));
    await clock.tick(10);
    expect((await slow).ok).toBe(false);
    const held = deferred();
    const first = pool.execute(() => held.promise);
    const queued = pool.execute(() => 'queued');
    await flush();
    held.resolve('a');
    await Promise.all([first, queued]);
    objective.record('failure', 1);
    fake.emit({
      type: 'fallback',
      policy: 'gone-fake',
      kind: 'fallback',
      failure: { kind: 'error', error: new Error('x') },
    });

    // Every instrument has points of the policies about to go, so the removal is checked in each.
    let rm = await collect();
    const exported = namesByInstrument(rm);
    for (const [name, names] of exported) {
      expect(
        [...names].some((n) => String(n).startsWith('gone-')),
        name,
      ).toBe(true);
    }
    expect([...exported.keys()].sort()).toEqual([...exporter.instrumentNames].sort());
    expect(fake.active).toBe(true);

    for (const policy of gone) expect(registry.remove(policy)).toBe(true);
    expect(fake.active).toBe(false);
    await kept.execute(() => 2);
    rm = await collect();
    for (const [name, names] of namesByInstrument(rm)) expect([...names], name).toEqual(['kept']);
    expect(histogram(rm, 'resilience.call.duration', { [NAME]: 'kept', [OUTCOME]: 'success' })!.count).toBe(
      1,
    );
  });

  it('keeps only the live policies through 2,000 added and removed, and listens to none of the removed', async () => {
    const { registry, collect } = setup({}, DELTA);
    const clock = new CountingClock();
    const kept = Array.from({ length: 10 }, (_, i) => circuitBreaker({ name: `kept-${i}`, clock }));
    registry.add(...kept);
    for (const breaker of kept) await breaker.execute(() => 1);
    await collect();

    // Like per-origin breakers added on onCreate and removed on onEvict, 100 at a time.
    for (let batch = 0; batch < 20; batch++) {
      const origins = Array.from({ length: 100 }, (_, i) =>
        circuitBreaker({ name: `fetch:https://host-${batch * 100 + i}.example`, clock }),
      );
      registry.add(...origins);
      for (const breaker of origins) await breaker.execute(() => 1);
      for (const breaker of origins) registry.remove(breaker);
      // Nobody listens to a removed breaker any more: a closed one does not even read the clock.
      const reads = clock.reads;
      await origins[0]!.execute(() => 1);
      expect(clock.reads).toBe(reads);
    }

    const live = new Set(kept.map((b) => b.name));
    // The durations the removed breakers recorded before they went belong to this interval; the
    // observed instruments report the live policies only.
    let rm = await collect();
    for (const [name, names] of namesByInstrument(rm)) {
      if (name !== 'resilience.call.duration') expect(names, name).toEqual(live);
    }
    expect(metric(rm, 'resilience.circuit_breaker.state')!.dataPoints).toHaveLength(10 * 6);
    rm = await collect();
    for (const [name, names] of namesByInstrument(rm)) expect(names, name).toEqual(live);
  });
});

describe('OpenTelemetry exporter options', () => {
  const registry = policyRegistry();
  const meter = new MeterProvider().getMeter('options');
  it.each([
    ['opentelemetry.registry', () => registerOpenTelemetry({} as never, meter), TypeError],
    ['opentelemetry.meter', () => registerOpenTelemetry(registry, {} as never), TypeError],
    [
      'opentelemetry.durationBuckets',
      () => registerOpenTelemetry(registry, meter, { durationBuckets: [2, 1] }),
      RangeError,
    ],
    [
      'opentelemetry.queueWaitBuckets',
      () => registerOpenTelemetry(registry, meter, { queueWaitBuckets: 'x' as never }),
      TypeError,
    ],
    [
      'opentelemetry.durationKinds',
      () => registerOpenTelemetry(registry, meter, { durationKinds: [''] as never }),
      TypeError,
    ],
    [
      'opentelemetry.prefix',
      () => registerOpenTelemetry(registry, meter, { prefix: 'x' } as never),
      TypeError,
    ],
  ])('%s is checked', (option, build, kind) => {
    let error: (Error & { option?: string; code?: string }) | undefined;
    try {
      build();
    } catch (e) {
      error = e as Error;
    }
    expect(error).toBeInstanceOf(kind);
    expect(error?.option).toBe(option);
    expect(error?.code).toBe('BW_ERR_INVALID_OPTION');
  });
});
