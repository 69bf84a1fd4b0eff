import express, { type NextFunction, type Request, type Response } from 'express';
import { describe, expect, it } from 'vitest';
import {
  aimdLimit,
  BW_ERR_INVALID_OPTION,
  bulkhead,
  circuitBreaker,
  TimeoutError,
} from '../../../src/index.js';
import { protect } from '../../../src/integrations/express/index.js';
import { deferred, FakeClock, waitFor } from '../../helpers.js';
import { listen } from './harness.js';

/** A handler that answers only when told, and tells when it started. */
function gated() {
  const started: Array<{ req: Request; res: Response }> = [];
  const release = deferred<void>();
  const handler = async (req: Request, res: Response) => {
    started.push({ req, res });
    await release.promise;
    if (!res.headersSent) res.send('done');
  };
  return { handler, started, release: () => release.resolve() };
}

describe('express protect(): load shedding', () => {
  it('answers 503 with Retry-After and a JSON body when the bulkhead is full', async () => {
    const gate = gated();
    const app = express();
    app.use(protect({ bulkhead: 1 }));
    app.get('/', gate.handler);
    const url = await listen(app);
    const first = fetch(url);
    await waitFor(() => gate.started.length === 1, 'the first handler to start');
    const shed = await fetch(url);
    expect(shed.status).toBe(503);
    expect(shed.headers.get('retry-after')).toBe('1');
    expect(await shed.json()).toMatchObject({ error: 'BW_ERR_BULKHEAD_REJECTED' });
    gate.release();
    expect(await (await first).text()).toBe('done');
    expect(await (await fetch(url)).text()).toBe('done');
  });

  it('queues requests beyond the limit and serves them in order', async () => {
    const b = bulkhead({ limit: 1, queue: 5 });
    const gate = gated();
    const app = express();
    app.use(protect({ bulkhead: b }));
    app.get('/:n', gate.handler);
    const url = await listen(app);
    const calls = [1, 2, 3].map((n) => fetch(`${url}/${n}`));
    await waitFor(() => b.snapshot().queueSize === 2, 'two requests queued');
    expect(gate.started.map((s) => s.req.params.n)).toEqual(['1']);
    gate.release();
    expect((await Promise.all(calls)).map((r) => r.status)).toEqual([200, 200, 200]);
    expect(gate.started.map((s) => s.req.params.n)).toEqual(['1', '2', '3']);
  });

  it('holds a slot until the response ends and frees the place of a queued client that leaves', async () => {
    const b = bulkhead({ limit: 1, queue: 5 });
    const gate = gated();
    const app = express();
    app.use(protect({ bulkhead: b }));
    app.get('/', gate.handler);
    const url = await listen(app);
    const first = fetch(url);
    await waitFor(() => gate.started.length === 1, 'the first handler to start');
    const leaving = new AbortController();
    const queued = fetch(url, { signal: leaving.signal }).catch(() => 'left');
    await waitFor(() => b.snapshot().queueSize === 1, 'the second request queued');
    leaving.abort();
    expect(await queued).toBe('left');
    await waitFor(() => b.snapshot().queueSize === 0, 'the place of the leaving client freed');
    expect(b.snapshot().inflight).toBe(1);
    gate.release();
    await (await first).text();
    await waitFor(() => b.snapshot().inflight === 0, 'the slot freed');
    expect(gate.started).toHaveLength(1);
  });

  it('lowers an adaptive limit when requests time out', async () => {
    const clock = new FakeClock();
    const limit = aimdLimit({ initialLimit: 4 });
    const b = bulkhead({ limit, clock });
    const app = express();
    app.use(protect({ bulkhead: b, timeout: 100, clock }));
    const started: Request[] = [];
    app.get('/', (req) => void started.push(req));
    const url = await listen(app);
    const res = fetch(url);
    await waitFor(() => started.length === 1, 'the handler to start');
    await clock.tick(100);
    expect((await res).status).toBe(503);
    await waitFor(() => b.snapshot().inflight === 0, 'the slot freed');
    expect(b.limit).toBe(3);
  });
});

describe('express protect(): timeouts', () => {
  it('aborts req.signal at the deadline and answers 503', async () => {
    const clock = new FakeClock();
    const app = express();
    const signals: AbortSignal[] = [];
    app.get('/slow', protect({ timeout: 250, clock }), (req) => void signals.push(req.signal!));
    const url = await listen(app);
    const res = fetch(`${url}/slow`);
    await waitFor(() => signals.length === 1, 'the handler to start');
    expect(signals[0]!.aborted).toBe(false);
    await clock.tick(250);
    const answer = await res;
    expect(answer.status).toBe(503);
    expect(answer.headers.get('retry-after')).toBe('1');
    expect(await answer.json()).toMatchObject({ error: 'BW_ERR_TIMEOUT' });
    expect(signals[0]!.aborted).toBe(true);
    expect(signals[0]!.reason).toBeInstanceOf(TimeoutError);
  });

  it('keeps its answer when the handler rejects with the abort afterwards', async () => {
    const clock = new FakeClock();
    const app = express();
    let started = false;
    app.get('/', protect({ timeout: 100, clock }), async (req) => {
      started = true;
      const signal = req.signal!;
      await new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
    });
    const url = await listen(app);
    const res = fetch(url);
    await waitFor(() => started, 'the handler to start');
    await clock.tick(100);
    const answer = await res;
    expect(answer.status).toBe(503);
    expect(await answer.json()).toMatchObject({ error: 'BW_ERR_TIMEOUT' });
  });

  it('answers 504 without Retry-After when timeoutStatus is 504', async () => {
    const clock = new FakeClock();
    const app = express();
    let started = false;
    app.get('/', protect({ timeout: 10, timeoutStatus: 504, clock }), () => {
      started = true;
    });
    const url = await listen(app);
    const res = fetch(url);
    await waitFor(() => started, 'the handler to start');
    await clock.tick(10);
    expect((await res).status).toBe(504);
    expect((await res).headers.get('retry-after')).toBeNull();
  });

  it('leaves a response that already started to the handler, which sees the aborted signal', async () => {
    const clock = new FakeClock();
    const app = express();
    let signal: AbortSignal | undefined;
    app.get('/stream', protect({ timeout: 50, clock }), (req, res) => {
      signal = req.signal;
      res.write('first ');
      req.signal!.addEventListener('abort', () => res.end('stopped'));
    });
    const url = await listen(app);
    const res = await fetch(`${url}/stream`);
    await clock.tick(50);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('first stopped');
    expect(signal?.aborted).toBe(true);
  });

  it('aborts req.signal when the client disconnects, without recording a failure', async () => {
    const breaker = circuitBreaker({ window: { kind: 'consecutive', failures: 1 } });
    const app = express();
    const signals: AbortSignal[] = [];
    app.get(
      '/',
      protect({ circuitBreaker: breaker, timeout: 60_000 }),
      (req) => void signals.push(req.signal!),
    );
    const url = await listen(app);
    const client = new AbortController();
    const call = fetch(url, { signal: client.signal }).catch(() => 'gone');
    await waitFor(() => signals.length === 1, 'the handler to start');
    client.abort();
    expect(await call).toBe('gone');
    await waitFor(() => signals[0]!.aborted, 'req.signal to abort');
    expect(signals[0]!.reason).toMatchObject({ name: 'AbortError' });
    expect(breaker.state).toBe('closed');
    expect(breaker.snapshot().calls).toBe(0);
  });
});

describe('express protect(): circuit breaker per route', () => {
  it('opens after failing answers and fails fast with Retry-After; other routes are unaffected', async () => {
    const app = express();
    let calls = 0;
    const flaky = protect({
      circuitBreaker: { window: { kind: 'consecutive', failures: 2 }, breakDurationMs: 30_000 },
    });
    app.get('/flaky', flaky, (_req, res) => {
      calls++;
      res.status(500).send('broken');
    });
    app.get(
      '/fine',
      protect({ circuitBreaker: { window: { kind: 'consecutive', failures: 2 } } }),
      (_req, res) => res.send('fine'),
    );
    const url = await listen(app);
    expect((await fetch(`${url}/flaky`)).status).toBe(500);
    expect((await fetch(`${url}/flaky`)).status).toBe(500);
    const open = await fetch(`${url}/flaky`);
    expect(open.status).toBe(503);
    expect(open.headers.get('retry-after')).toBe('30');
    expect(await open.json()).toMatchObject({ error: 'BW_ERR_CIRCUIT_OPEN' });
    expect(calls).toBe(2);
    expect(await (await fetch(`${url}/fine`)).text()).toBe('fine');
  });

  it('counts thrown errors (answered 500 by Express) and timeouts as failures, 4xx as successes', async () => {
    const clock = new FakeClock();
    const breaker = circuitBreaker({ window: { kind: 'count', size: 100 }, minimumCalls: 100, clock });
    const app = express();
    let started = 0;
    const guard = protect({ circuitBreaker: breaker, timeout: 100, clock });
    app.get('/throws', guard, () => {
      throw new Error('bug');
    });
    app.get('/missing', guard, (_req, res) => void res.status(404).send('no'));
    app.get('/hangs', guard, () => void started++);
    app.use(
      (_error: unknown, _req: Request, res: Response, _next: NextFunction) => void res.status(500).end(),
    );
    const url = await listen(app);
    expect((await fetch(`${url}/throws`)).status).toBe(500);
    expect((await fetch(`${url}/missing`)).status).toBe(404);
    const hanging = fetch(`${url}/hangs`);
    await waitFor(() => started === 1, 'the hanging handler to start');
    await clock.tick(100);
    expect((await hanging).status).toBe(503);
    await waitFor(() => breaker.snapshot().calls === 3, 'the breaker to record three calls');
    expect(breaker.snapshot()).toMatchObject({ calls: 3, failures: 2 });
  });
});

describe('express protect(): composition and options', () => {
  it('nests: an app-wide bulkhead and a route timeout share the request signal', async () => {
    const clock = new FakeClock();
    const shed = bulkhead({ limit: 10, clock });
    const app = express();
    app.use(protect({ bulkhead: shed }));
    const signals: AbortSignal[] = [];
    app.get('/', protect({ timeout: 20, clock }), (req) => void signals.push(req.signal!));
    const url = await listen(app);
    const res = fetch(url);
    await waitFor(() => signals.length === 1, 'the handler to start');
    await clock.tick(20);
    expect((await res).status).toBe(503);
    expect(signals[0]!.reason).toBeInstanceOf(TimeoutError);
    await waitFor(() => shed.snapshot().inflight === 0, 'the app-wide slot freed');
  });

  it('answers through a custom respond function', async () => {
    const app = express();
    const gate = gated();
    app.use(
      protect({
        bulkhead: 1,
        respond: (answer, _req, res) => void res.status(429).type('text').send(`busy: ${answer.body.error}`),
      }),
    );
    app.get('/', gate.handler);
    const url = await listen(app);
    const first = fetch(url);
    await waitFor(() => gate.started.length === 1, 'the first handler to start');
    const res = await fetch(url);
    expect(res.status).toBe(429);
    expect(await res.text()).toBe('busy: BW_ERR_BULKHEAD_REJECTED');
    gate.release();
    await (await first).text();
  });

  it('exposes its pipeline and validates options', () => {
    const guard = protect({ bulkhead: 5, timeout: 1_000 });
    expect(guard.pipeline.policies.map((p) => (p as { kind?: string }).kind)).toEqual([
      'bulkhead',
      'timeout',
    ]);
    expect(() => protect({ timout: 5 } as never)).toThrow(
      expect.objectContaining({ code: BW_ERR_INVALID_OPTION, option: 'protect.timout' }),
    );
    expect(() => protect({ timeoutStatus: 200 })).toThrow(RangeError);
    expect(() => protect({ respond: 'json' as never })).toThrow(TypeError);
    expect(() => protect({ key: 'ip' as never })).toThrow(
      expect.objectContaining({ option: 'protect.key', name: 'TypeError' }),
    );
  });

  it('names a bad option of the policies it builds by the path the user wrote', () => {
    expect(() => protect({ bulkhead: { limit: 0 } })).toThrow(
      expect.objectContaining({
        name: 'RangeError',
        code: BW_ERR_INVALID_OPTION,
        option: 'protect.bulkhead.limit',
      }),
    );
    expect(() => protect({ bulkhead: { limit: 0 } })).toThrow('"protect.bulkhead.limit"');
    expect(() => protect({ circuitBreaker: { minimumCalls: 0 } })).toThrow(
      expect.objectContaining({ option: 'protect.circuitBreaker.minimumCalls' }),
    );
    expect(() => protect({ timeout: -1 })).toThrow(expect.objectContaining({ option: 'protect.timeout' }));
  });
});
