import Fastify, { type FastifyInstance } from 'fastify';
import {
  bulkhead,
  type CircuitBreakerPolicy,
  circuitBreaker,
  fallback,
  pipeline,
  RejectedError,
  retry,
  retryBudget,
  type SloPolicy,
  slo,
  timeout,
} from '../../src/index.js';

export class HttpError extends Error {
  constructor(readonly status: number) {
    super(`HTTP ${status}`);
    this.name = 'HttpError';
  }
}

async function callDownstream(url: string, signal?: AbortSignal): Promise<string> {
  const res = await fetch(url, signal === undefined ? {} : { signal });
  if (!res.ok) {
    await res.body?.cancel();
    throw new HttpError(res.status);
  }
  return res.text();
}

export interface Service {
  readonly app: FastifyInstance;
  readonly url: string;
  readonly breaker: CircuitBreakerPolicy | undefined;
  readonly objective: SloPolicy;
}

/**
 * A checkout service calling the downstream. `protected`: SLO tracking, a fallback to a degraded answer
 * when the circuit is open or the bulkhead full, an 800 ms budget for the whole call, a budgeted retry, a
 * circuit breaker, a bulkhead and a 300 ms timeout per attempt. `unprotected`: the same call, bare.
 */
export async function startService(downstream: string, kind: 'protected' | 'unprotected'): Promise<Service> {
  const objective = slo({
    name: `${kind}-checkout`,
    availability: 0.95,
    latency: { thresholdMs: 500, target: 0.95 },
  });
  const app = Fastify({ logger: false });
  let breaker: CircuitBreakerPolicy | undefined;
  if (kind === 'unprotected') {
    app.get('/checkout', async (_req, reply) => {
      const started = performance.now();
      try {
        const body = await callDownstream(downstream);
        objective.record('success', performance.now() - started);
        return body;
      } catch (error) {
        objective.record('failure', performance.now() - started);
        return reply.code(error instanceof HttpError ? 502 : 500).send('downstream failed');
      }
    });
  } else {
    breaker = circuitBreaker({
      name: 'payments',
      window: { kind: 'count', size: 20 },
      minimumCalls: 10,
      failureRateThreshold: 0.5,
      slowCallDurationMs: 250,
      slowCallRateThreshold: 0.6,
      breakDurationMs: 1_000,
      halfOpen: { maxCalls: 3 },
    });
    const policy = pipeline(
      objective,
      fallback({
        name: 'degraded',
        // Shed load gets a degraded answer rather than an error; real failures stay failures.
        handle: (e) => e instanceof RejectedError,
        fallback: () => 'order queued (degraded)',
      }),
      // The whole call, retries included, answers within 800 ms.
      timeout({ name: 'checkout-budget', durationMs: 800 }),
      retry({ name: 'payments-retry', maxRetries: 2, backoff: 20, budget: retryBudget({ ratio: 0.2 }) }),
      breaker,
      bulkhead({ name: 'payments-pool', limit: 40, queue: 40, maxWaitMs: 200 }),
      timeout({ name: 'payments-timeout', durationMs: 300 }),
    );
    app.get('/checkout', async (req, reply) => {
      const controller = new AbortController();
      req.raw.on('close', () => controller.abort(new Error('client went away')));
      const outcome = await policy.executeOutcome(
        ({ signal }) => callDownstream(downstream, signal),
        controller.signal,
      );
      if (outcome.ok) return outcome.value;
      if (outcome.error instanceof RejectedError)
        return reply.code(503).header('retry-after', '1').send('shed');
      return reply.code(502).send('downstream failed');
    });
  }
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, url: `${url}/checkout`, breaker, objective };
}
