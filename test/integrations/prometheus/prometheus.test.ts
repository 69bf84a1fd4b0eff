import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as client from 'prom-client';
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
import { registerPrometheus } from '../../../src/integrations/prometheus/index.js';
import { deferred, FakeClock, flush } from '../../helpers.js';
import { type Exposition, parseExposition, value } from './exposition.js';

const servers: Server[] = [];
const exporters: { close(): void }[] = [];

afterEach(async () => {
  for (const e of exporters.splice(0)) e.close();
  for (const s of servers.splice(0)) {
    s.close();
    await once(s, 'close');
  }
});

/** Serves the prom-client registry on a real /metrics endpoint and returns a scraper for it. */
async function metricsEndpoint(promRegistry: client.Registry): Promise<() => Promise<Exposition>> {
  const server = createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    promRegistry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': promRegistry.contentType }).end(text),
      (error: unknown) => res.writeHead(500).end(String(error)),
    );
  });
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;
  return async () => {
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(promRegistry.contentType);
    return parseExposition(await res.text());
  };
}

async function setup(options: Parameters<typeof registerPrometheus>[2] = {}) {
  const clock = new FakeClock();
  const registry = policyRegistry();
  const promRegistry = new client.Registry();
  const exporter = registerPrometheus(registry, client, { register: promRegistry, ...options });
  exporters.push(exporter);
  const scrape = await metricsEndpoint(promRegistry);
  const delay = (ms: number) => new Promise<string>((resolve) => clock.setTimer(() => resolve('ok'), ms));
  return { clock, registry, promRegistry, exporter, scrape, delay };
}

describe('Prometheus exporter, scraped from a real /metrics endpoint', () => {
  it('labels a call by what its caller got: an error the outer retry does not handle is a failure', async () => {
    const { registry, scrape } = await setup();
    const outer = retry({
      name: 'outer-retry',
      maxRetries: 2,
      backoff: 0,
      handle: (e) => e instanceof TypeError,
    });
    registry.add(outer);
    for (let i = 0; i < 3; i++)
      await outer.executeOutcome(() => Promise.reject(new RangeError('not retried')));
    const m = await scrape();
    expect(value(m, 'breakwater_calls_total', { policy: 'outer-retry', outcome: 'failure' })).toBe(3);
    expect(value(m, 'breakwater_calls_total', { policy: 'outer-retry', outcome: 'success' }) ?? 0).toBe(0);
  });

  it('counts calls by policy, kind and outcome and records their durations in seconds', async () => {
    const { clock, registry, scrape, delay } = await setup();
    const breaker = circuitBreaker({ name: 'api', clock });
    const deadline = timeout({ name: 'api-timeout', durationMs: 100, clock });
    const policy = pipeline(breaker, deadline);
    registry.add(policy);
    for (let i = 0; i < 3; i++) {
      const call = policy.execute(() => delay(20));
      await clock.tick(20);
      await call;
    }
    const slow = policy.executeOutcome(() => delay(500));
    await clock.tick(100);
    expect((await slow).ok).toBe(false);

    const m = await scrape();
    const api = { policy: 'api', kind: 'circuitBreaker' };
    expect(value(m, 'breakwater_calls_total', { ...api, outcome: 'success' })).toBe(3);
    expect(value(m, 'breakwater_calls_total', { ...api, outcome: 'failure' })).toBe(1);
    expect(value(m, 'breakwater_calls_total', { ...api, outcome: 'ignored' })).toBe(0);
    expect(value(m, 'breakwater_calls_total', { policy: 'api-timeout', outcome: 'success' })).toBe(3);
    expect(value(m, 'breakwater_timeouts_total', { policy: 'api-timeout', kind: 'timeout' })).toBe(1);

    const ok = { ...api, outcome: 'success' };
    expect(value(m, 'breakwater_call_duration_seconds_bucket', { ...ok, le: '0.01' })).toBe(0);
    expect(value(m, 'breakwater_call_duration_seconds_bucket', { ...ok, le: '0.025' })).toBe(3);
    expect(value(m, 'breakwater_call_duration_seconds_bucket', { ...ok, le: '+Inf' })).toBe(3);
    expect(value(m, 'breakwater_call_duration_seconds_count', ok)).toBe(3);
    expect(value(m, 'breakwater_call_duration_seconds_sum', ok)).toBeCloseTo(0.06, 12);
    const failed = { ...api, outcome: 'failure' };
    expect(value(m, 'breakwater_call_duration_seconds_bucket', { ...failed, le: '0.05' })).toBe(0);
    expect(value(m, 'breakwater_call_duration_seconds_bucket', { ...failed, le: '0.1' })).toBe(1);
    expect(m.types.get('breakwater_calls_total')).toBe('counter');
    expect(m.types.get('breakwater_call_duration_seconds')).toBe('histogram');
  });

  it('counts rejections by reason and transitions, and reads the breaker state at scrape time', async () => {
    const { clock, registry, scrape } = await setup();
    const breaker = circuitBreaker({
      name: 'payments',
      window: { kind: 'consecutive', failures: 2 },
      breakDurationMs: 1_000,
      clock,
    });
    registry.add(breaker);
    let m = await scrape();
    expect(value(m, 'breakwater_circuit_state', { policy: 'payments', state: 'closed' })).toBe(1);
    expect(value(m, 'breakwater_circuit_state', { policy: 'payments', state: 'open' })).toBe(0);

    for (let i = 0; i < 2; i++) await breaker.executeOutcome(() => Promise.reject(new Error('down')));
    await breaker.executeOutcome(() => 'never runs');
    m = await scrape();
    const cb = { policy: 'payments', kind: 'circuitBreaker' };
    expect(value(m, 'breakwater_rejections_total', { ...cb, reason: 'open' })).toBe(1);
    expect(
      value(m, 'breakwater_circuit_transitions_total', { policy: 'payments', from: 'closed', to: 'open' }),
    ).toBe(1);
    expect(value(m, 'breakwater_circuit_state', { policy: 'payments', state: 'open' })).toBe(1);
    expect(value(m, 'breakwater_circuit_state', { policy: 'payments', state: 'closed' })).toBe(0);
    const snapshot = breaker.snapshot();
    expect(value(m, 'breakwater_circuit_failure_ratio', { policy: 'payments' })).toBe(snapshot.failureRate);
    expect(value(m, 'breakwater_circuit_slow_call_ratio', { policy: 'payments' })).toBe(
      snapshot.slowCallRate,
    );
    expect(value(m, 'breakwater_circuit_window_calls', { policy: 'payments' })).toBe(snapshot.calls);
    expect(value(m, 'breakwater_circuit_inflight', { policy: 'payments' })).toBe(0);

    // A manual change is seen at the next scrape; every state series stays, at 0.
    breaker.isolate();
    m = await scrape();
    expect(value(m, 'breakwater_circuit_state', { policy: 'payments', state: 'isolated' })).toBe(1);
    expect(value(m, 'breakwater_circuit_state', { policy: 'payments', state: 'open' })).toBe(0);
    expect(m.samples.filter((s) => s.name === 'breakwater_circuit_state')).toHaveLength(6);
    expect(m.types.get('breakwater_circuit_state')).toBe('gauge');
  });

  it('reports bulkhead usage from its snapshot and queue waits in a histogram', async () => {
    const { clock, registry, scrape } = await setup();
    const pool = bulkhead({ name: 'db-pool', limit: 2, queue: 2, clock });
    registry.add(pool);
    const held = [deferred(), deferred(), deferred()];
    const calls = held.map((d) => pool.execute(() => d.promise));
    await flush();
    let m = await scrape();
    expect(value(m, 'breakwater_bulkhead_inflight', { policy: 'db-pool' })).toBe(2);
    expect(value(m, 'breakwater_bulkhead_queued', { policy: 'db-pool' })).toBe(1);
    expect(value(m, 'breakwater_bulkhead_limit', { policy: 'db-pool' })).toBe(2);
    expect(value(m, 'breakwater_bulkhead_queue_capacity', { policy: 'db-pool' })).toBe(2);

    await clock.tick(30);
    held[0]!.resolve('a');
    await flush();
    pool.setLimit(5);
    m = await scrape();
    expect(value(m, 'breakwater_bulkhead_inflight', { policy: 'db-pool' })).toBe(2);
    expect(value(m, 'breakwater_bulkhead_queued', { policy: 'db-pool' })).toBe(0);
    expect(value(m, 'breakwater_bulkhead_limit', { policy: 'db-pool' })).toBe(5);
    expect(value(m, 'breakwater_bulkhead_queue_wait_seconds_count', { policy: 'db-pool' })).toBe(1);
    expect(value(m, 'breakwater_bulkhead_queue_wait_seconds_sum', { policy: 'db-pool' })).toBeCloseTo(
      0.03,
      12,
    );
    expect(
      value(m, 'breakwater_bulkhead_queue_wait_seconds_bucket', { policy: 'db-pool', le: '0.025' }),
    ).toBe(0);
    expect(value(m, 'breakwater_bulkhead_queue_wait_seconds_bucket', { policy: 'db-pool', le: '0.05' })).toBe(
      1,
    );
    expect(value(m, 'breakwater_events_total', { policy: 'db-pool', event: 'limit' })).toBe(1);
    held[1]!.resolve('b');
    held[2]!.resolve('c');
    await Promise.all(calls);
  });

  it('reports SLO error budgets, compliance, burn rates and alerts from the snapshot', async () => {
    const { clock, registry, scrape } = await setup();
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
    const m = await scrape();
    expect(
      value(m, 'breakwater_slo_error_budget_remaining_ratio', {
        policy: 'checkout',
        objective: 'availability',
      }),
    ).toBeCloseTo(-4, 10);
    expect(
      value(m, 'breakwater_slo_compliance_ratio', { policy: 'checkout', objective: 'availability' }),
    ).toBe(0.5);
    expect(
      value(m, 'breakwater_slo_burn_rate', { policy: 'checkout', alert: 'fast', window: 'long' }),
    ).toBeCloseTo(5, 10);
    expect(
      value(m, 'breakwater_slo_alert_firing', { policy: 'checkout', alert: 'fast', severity: 'page' }),
    ).toBe(1);
  });

  it('counts retries, give-ups, fallbacks and every event type', async () => {
    const { clock, registry, scrape } = await setup();
    const r = retry({ name: 'r', maxRetries: 2, backoff: 10, clock });
    const fb = fallback({ name: 'fb', fallback: () => 'cached', clock });
    const policy = pipeline(fb, r);
    registry.add(policy);
    const call = policy.execute(() => Promise.reject(new Error('down')));
    await clock.tick(10);
    await clock.tick(10);
    expect(await call).toBe('cached');
    const m = await scrape();
    expect(value(m, 'breakwater_retries_total', { policy: 'r' })).toBe(2);
    expect(value(m, 'breakwater_retry_give_ups_total', { policy: 'r', reason: 'max-attempts' })).toBe(1);
    expect(value(m, 'breakwater_fallbacks_total', { policy: 'fb' })).toBe(1);
    expect(value(m, 'breakwater_calls_total', { policy: 'fb', outcome: 'success' })).toBe(1);
    expect(value(m, 'breakwater_calls_total', { policy: 'r', outcome: 'failure' })).toBe(1);
    expect(value(m, 'breakwater_events_total', { policy: 'r', kind: 'retry', event: 'retry' })).toBe(2);
    expect(value(m, 'breakwater_events_total', { policy: 'r', kind: 'retry', event: 'give-up' })).toBe(1);
    expect(value(m, 'breakwater_events_total', { policy: 'fb', kind: 'fallback', event: 'fallback' })).toBe(
      1,
    );
  });

  it('starts every registered policy at zero and keeps labels bounded: never the call key', async () => {
    const { clock, registry, scrape, exporter } = await setup();
    const policy = pipeline(
      retry({ name: 'users-retry', maxRetries: 1, backoff: 0, clock }),
      circuitBreaker({ name: 'users', window: { kind: 'consecutive', failures: 100 }, clock }),
      bulkhead({ name: 'users-pool', limit: 4, clock }),
    );
    registry.add(policy);
    let m = await scrape();
    for (const name of ['users-retry', 'users', 'users-pool']) {
      expect(value(m, 'breakwater_calls_total', { policy: name, outcome: 'success' })).toBe(0);
    }
    expect(value(m, 'breakwater_retries_total', { policy: 'users-retry' })).toBe(0);

    for (let i = 0; i < 20; i++) {
      const call = policy.executeOutcome(() => (i % 2 ? 'ok' : Promise.reject(new Error('x'))), {
        key: `user-${i}`,
      });
      await flush();
      await clock.tick(0);
      await call;
    }
    const text = await (await fetch(await urlOf())).text();
    expect(text).not.toMatch(/user-\d/);
    m = parseExposition(text);
    const bounded = ['event', 'from', 'kind', 'le', 'outcome', 'policy', 'reason', 'state', 'to'];
    for (const label of new Set(m.samples.flatMap((s) => Object.keys(s.labels)))) {
      expect(bounded).toContain(label);
    }
    for (const name of exporter.metricNames) expect(m.types.has(name), name).toBe(true);
    expect(new Set(m.samples.map((s) => s.labels.policy))).toEqual(
      new Set(['users-retry', 'users', 'users-pool']),
    );

    async function urlOf() {
      const server = servers.at(-1)!;
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;
    }
  });

  it('takes each policy snapshot once per scrape, however many gauges read it', async () => {
    const { registry, scrape } = await setup();
    const events = new Emitter<PolicyEvent>();
    let snapshots = 0;
    registry.add({
      kind: 'circuitBreaker',
      name: 'counted',
      onEvent: events.subscribe,
      snapshot: () => {
        snapshots++;
        return { kind: 'circuitBreaker', name: 'counted', state: 'half-open', failureRate: 0.25 };
      },
    });
    const m = await scrape();
    expect(snapshots).toBe(1);
    expect(value(m, 'breakwater_circuit_state', { policy: 'counted', state: 'half-open' })).toBe(1);
    expect(value(m, 'breakwater_circuit_failure_ratio', { policy: 'counted' })).toBe(0.25);
    await scrape();
    expect(snapshots).toBe(2);
  });

  it('close() stops listening and removes its metrics, so the names can be registered again', async () => {
    const { registry, promRegistry, exporter, scrape } = await setup();
    const events = new Emitter<PolicyEvent>();
    registry.add({
      kind: 'timeout',
      name: 'fake',
      onEvent: events.subscribe,
      snapshot: () => ({ kind: 'timeout', name: 'fake' }),
    });
    expect(events.active).toBe(true);
    expect(() => registerPrometheus(registry, client, { register: promRegistry })).toThrow(
      /already been registered/,
    );
    exporter.close();
    exporter.close();
    expect(events.active).toBe(false);
    const m = await scrape();
    expect(m.samples.filter((s) => s.name.startsWith('breakwater_'))).toEqual([]);
    exporters.push(registerPrometheus(registry, client, { register: promRegistry }));
    expect(events.active).toBe(true);
    events.emit({ type: 'call', policy: 'fake', kind: 'timeout', outcome: 'success', durationMs: 2 });
    expect(value(await scrape(), 'breakwater_calls_total', { policy: 'fake', outcome: 'success' })).toBe(1);
  });

  it('leaves nothing registered when one of its names is already taken', () => {
    const promRegistry = new client.Registry();
    new client.Counter({
      name: 'breakwater_timeouts_total',
      help: 'the application own',
      registers: [promRegistry],
    });
    expect(() => registerPrometheus(policyRegistry(), client, { register: promRegistry })).toThrow(
      /already been registered/,
    );
    expect(promRegistry.getMetricsAsArray().map((m) => m.name)).toEqual(['breakwater_timeouts_total']);
  });

  it('takes a prefix, bucket bounds, bare classes and an OpenMetrics registry', async () => {
    const registry = policyRegistry();
    const clock = new FakeClock();
    const breaker = circuitBreaker({ name: 'svc', clock });
    registry.add(breaker);
    const promRegistry = new client.Registry<client.OpenMetricsContentType>();
    promRegistry.setContentType(client.Registry.OPENMETRICS_CONTENT_TYPE);
    const exporter = registerPrometheus(
      registry,
      { Counter: client.Counter, Gauge: client.Gauge, Histogram: client.Histogram },
      { register: promRegistry, prefix: 'app_resilience_', durationBuckets: [0.5, 1] },
    );
    exporters.push(exporter);
    await breaker.execute(() => 1);
    const text = await promRegistry.metrics();
    const m = parseExposition(text.replace('# EOF\n', ''));
    expect(value(m, 'app_resilience_calls_total', { policy: 'svc', outcome: 'success' })).toBe(1);
    const les = m.samples
      .filter(
        (s) => s.name === 'app_resilience_call_duration_seconds_bucket' && s.labels.outcome === 'success',
      )
      .map((s) => s.labels.le);
    expect(les).toEqual(['0.5', '1', '+Inf']);
    exporter.close();
    expect(promRegistry.getMetricsAsArray()).toEqual([]);
  });

  it('records durations only for durationKinds, and counts every kind', async () => {
    const { clock, registry, scrape } = await setup({ durationKinds: ['circuitBreaker'] });
    const breaker = circuitBreaker({ name: 'cb', clock });
    const policy = pipeline(breaker, timeout({ name: 't', durationMs: 100, clock }));
    registry.add(policy);
    await breaker.execute(() => 1);
    await policy.execute(() => 1);
    const m = await scrape();
    expect(value(m, 'breakwater_call_duration_seconds_count', { policy: 'cb', outcome: 'success' })).toBe(2);
    expect(
      value(m, 'breakwater_call_duration_seconds_count', { policy: 't', outcome: 'success' }),
    ).toBeUndefined();
    expect(value(m, 'breakwater_calls_total', { policy: 't', outcome: 'success' })).toBe(1);
  });

  it('uses prom-client global registry by default', async () => {
    const registry = policyRegistry();
    const exporter = registerPrometheus(registry, client);
    try {
      expect(client.register.getSingleMetric('breakwater_calls_total')).toBeDefined();
    } finally {
      exporter.close();
    }
    expect(client.register.getSingleMetric('breakwater_calls_total')).toBeUndefined();
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

/** The distinct `policy` label values of an exposition. */
function policiesIn(m: Exposition): Set<string> {
  return new Set(m.samples.flatMap((s) => (s.labels.policy === undefined ? [] : [s.labels.policy])));
}

describe('Prometheus exporter, policies leaving the registry', () => {
  it('drops every series of a removed policy, in every metric family, and stops listening to it', async () => {
    const { clock, registry, scrape, exporter, delay } = await setup();
    const kept = circuitBreaker({ name: 'kept', clock });
    registry.add(kept);
    await kept.execute(() => 1);
    const before = await scrape();

    const breaker = circuitBreaker({
      name: 'gone-cb',
      window: { kind: 'consecutive', failures: 1 },
      clock,
    });
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
    fake.emit({ type: 'call', policy: 'gone-fake', kind: 'timeout', outcome: 'success', durationMs: 1 });

    // Every family has series of the policies about to go, so the removal is checked in each.
    let m = await scrape();
    const family = (name: string) => name.replace(/_(bucket|sum|count)$/, '');
    const goneFamilies = new Set(
      m.samples.filter((s) => s.labels.policy?.startsWith('gone-')).map((s) => family(s.name)),
    );
    expect([...goneFamilies].sort()).toEqual([...exporter.metricNames].sort());
    expect(fake.active).toBe(true);

    for (const policy of gone) expect(registry.remove(policy)).toBe(true);
    expect(fake.active).toBe(false);
    m = await scrape();
    expect(policiesIn(m)).toEqual(new Set(['kept']));
    expect(m).toEqual(before);

    // A new policy under a removed name starts from zero (rate() reads it as a counter reset).
    const again = circuitBreaker({ name: 'gone-cb', clock });
    registry.add(again);
    m = await scrape();
    expect(value(m, 'breakwater_calls_total', { policy: 'gone-cb', outcome: 'failure' })).toBe(0);
    expect(value(m, 'breakwater_rejections_total', { policy: 'gone-cb' })).toBeUndefined();
    expect(value(m, 'breakwater_call_duration_seconds_count', { policy: 'gone-cb' })).toBeUndefined();
    expect(value(m, 'breakwater_circuit_state', { policy: 'gone-cb', state: 'closed' })).toBe(1);
  });

  it('keeps only the live policies through 2,000 added and removed, and listens to none of the removed', async () => {
    const { registry, scrape } = await setup();
    const clock = new CountingClock();
    const kept = Array.from({ length: 10 }, (_, i) => circuitBreaker({ name: `kept-${i}`, clock }));
    registry.add(...kept);
    for (const breaker of kept) await breaker.execute(() => 1);
    const baseline = await scrape();
    expect(policiesIn(baseline).size).toBe(10);

    // Like per-origin breakers added on onCreate and removed on onEvict, 100 at a time.
    for (let batch = 0; batch < 20; batch++) {
      const origins = Array.from({ length: 100 }, (_, i) =>
        circuitBreaker({ name: `fetch:https://host-${batch * 100 + i}.example`, clock }),
      );
      registry.add(...origins);
      for (const breaker of origins) await breaker.execute(() => 1);
      expect(policiesIn(await scrape()).size).toBe(110);
      for (const breaker of origins) registry.remove(breaker);
      // Nobody listens to a removed breaker any more: a closed one does not even read the clock.
      const reads = clock.reads;
      await origins[0]!.execute(() => 1);
      expect(clock.reads).toBe(reads);
    }

    const m = await scrape();
    expect(policiesIn(m)).toEqual(policiesIn(baseline));
    expect(m.samples).toHaveLength(baseline.samples.length);
    expect(m).toEqual(baseline);
  });
});

describe('Prometheus exporter options', () => {
  const registry = policyRegistry();
  const register = new client.Registry();
  it.each([
    ['prometheus.registry', () => registerPrometheus({} as never, client, { register }), TypeError],
    ['prometheus.client', () => registerPrometheus(registry, {} as never, { register }), TypeError],
    ['prometheus.register', () => registerPrometheus(registry, client, { register: {} as never }), TypeError],
    [
      'prometheus.client.register',
      () =>
        registerPrometheus(registry, {
          Counter: client.Counter,
          Gauge: client.Gauge,
          Histogram: client.Histogram,
        }),
      TypeError,
    ],
    [
      'prometheus.prefix',
      () => registerPrometheus(registry, client, { register, prefix: '1bad' }),
      RangeError,
    ],
    ['prometheus.prefix', () => registerPrometheus(registry, client, { register, prefix: '' }), TypeError],
    [
      'prometheus.durationBuckets',
      () => registerPrometheus(registry, client, { register, durationBuckets: [] }),
      TypeError,
    ],
    [
      'prometheus.durationBuckets',
      () => registerPrometheus(registry, client, { register, durationBuckets: [0.1, 0.05] }),
      RangeError,
    ],
    [
      'prometheus.durationKinds',
      () => registerPrometheus(registry, client, { register, durationKinds: 'retry' as never }),
      TypeError,
    ],
    [
      'prometheus.queueWaitBuckets',
      () => registerPrometheus(registry, client, { register, queueWaitBuckets: [0, 1] }),
      RangeError,
    ],
    [
      'prometheus.buckets',
      () => registerPrometheus(registry, client, { register, buckets: [1] } as never),
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
    expect(register.getMetricsAsArray()).toEqual([]);
  });
});
