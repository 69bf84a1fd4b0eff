// A live dashboard over simulated traffic: a checkout service whose payments, inventory and shipping
// calls go through breakers, bulkheads, retries and timeouts.
//
//   npx tsx examples/dashboard.ts                  serves http://127.0.0.1:3000/dashboard until Ctrl-C
//   npx tsx examples/dashboard.ts --screenshot docs/images/dashboard.png
//                                                  renders the page in headless Chromium and saves it
//
// The screenshot needs a Chromium binary: /usr/bin/chromium (Debian's chromium package) or CHROMIUM_PATH.
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { bulkhead, circuitBreaker, pipeline, policyRegistry, retry, slo, timeout } from '../src/index.js';
import { dashboard } from '../src/integrations/dashboard/index.js';

const { values: args } = parseArgs({
  options: { screenshot: { type: 'string' }, port: { type: 'string', default: '3000' } },
});

// A seeded generator: the same traffic, and so much the same picture, on every run.
let seed = 42;
function random(): number {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

/** A downstream answering after a log-normal delay around `medianMs`, failing with probability `failure`. */
function downstream(medianMs: number, failure: number) {
  return ({ signal }: { signal: AbortSignal }) =>
    new Promise<string>((resolve, reject) => {
      const ms =
        medianMs * Math.exp(0.6 * Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random()));
      const fails = random() < failure;
      const timer = setTimeout(() => (fails ? reject(new Error('downstream failed')) : resolve('ok')), ms);
      signal.addEventListener('abort', () => {
        clearTimeout(timer);
        reject(signal.reason);
      });
    });
}

const payments = pipeline(
  slo({ name: 'checkout-slo', availability: 0.995, latency: { thresholdMs: 100, target: 0.99 } }),
  retry({ name: 'payments-retry', maxRetries: 2, backoff: 5 }),
  circuitBreaker({ name: 'payments', window: { kind: 'count', size: 100 }, failureRateThreshold: 0.5 }),
  bulkhead({ name: 'payments-pool', limit: 8, queue: 16 }),
  timeout({ name: 'payments-timeout', durationMs: 250, strategy: 'cooperative' }),
);
const inventoryBreaker = circuitBreaker({
  name: 'inventory',
  window: { kind: 'consecutive', failures: 5 },
  breakDurationMs: 30_000,
});
const inventory = pipeline(inventoryBreaker, timeout({ name: 'inventory-timeout', durationMs: 100 }));
const shippingBreaker = circuitBreaker({ name: 'shipping' });
const dbPool = bulkhead({ name: 'db-pool', limit: 4, queue: 10, maxWaitMs: 200 });

const registry = policyRegistry().add(payments, inventory, shippingBreaker, dbPool);
// Shipping is under maintenance: an operator isolated it.
shippingBreaker.isolate();

const callPayments = downstream(18, 0.08);
const callInventory = downstream(6, 0.9);
const callShipping = downstream(10, 0);
const callDb = downstream(9, 0.01);
const traffic = setInterval(() => {
  for (let i = 0; i < 2; i++) {
    payments.executeOutcome(callPayments);
    dbPool.executeOutcome(callDb);
  }
  if (random() < 0.5) dbPool.executeOutcome(callDb);
  inventory.executeOutcome(callInventory);
  shippingBreaker.executeOutcome(callShipping);
}, 10);

const board = dashboard(registry, { title: 'checkout', intervalMs: 500 });
const server = createServer((req, res) => {
  if (board.handle(req, res)) return;
  res.writeHead(302, { location: '/dashboard' }).end();
});
server.listen(args.screenshot ? 0 : Number(args.port), '127.0.0.1');
await once(server, 'listening');
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/dashboard`;

async function stop(): Promise<void> {
  clearInterval(traffic);
  board.close();
  server.close();
  await once(server, 'close');
}

if (args.screenshot === undefined) {
  console.log(`dashboard: ${url} (Ctrl-C to stop)`);
  process.once('SIGINT', () => void stop());
} else {
  const { chromium } = await import('playwright-core');
  const profile = mkdtempSync(join(tmpdir(), 'bw-dashboard-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1200, height: 720 },
  });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    await page.goto(url);
    await page.waitForSelector('[data-policy="inventory"][data-state="open"]');
    // Twenty frames: the sparklines fill and the windows hold ten seconds of traffic.
    await page.waitForTimeout(10_000);
    await page.screenshot({ path: args.screenshot, fullPage: true });
    console.log(`saved ${args.screenshot}`);
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
    await stop();
  }
}
