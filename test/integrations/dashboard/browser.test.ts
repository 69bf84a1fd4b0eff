import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { describe, expect, it, vi } from 'vitest';
import {
  bulkhead,
  circuitBreaker,
  pipeline,
  policyRegistry,
  retry,
  slo,
  timeout,
} from '../../../src/index.js';
import { dashboard } from '../../../src/integrations/dashboard/index.js';
import { deferred } from '../../helpers.js';

// Debian's chromium package; CI installs it (apt-get install chromium). Override with CHROMIUM_PATH.
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

describe.skipIf(!hasChromium)('dashboard in headless Chromium', () => {
  it('shows live breaker states, rates, percentiles and bulkhead usage, and stops when the page closes', async () => {
    const registry = policyRegistry();
    const breaker = circuitBreaker({
      name: 'payments',
      window: { kind: 'count', size: 50 },
      failureRateThreshold: 0.9,
    });
    const pool = bulkhead({ name: 'payments-pool', limit: 4, queue: 8 });
    const objective = slo({
      name: 'checkout-slo',
      availability: 0.99,
      latency: { thresholdMs: 500, target: 0.99 },
    });
    const payments = pipeline(
      objective,
      retry({ name: 'payments-retry', maxRetries: 1, backoff: 1 }),
      breaker,
      pool,
      timeout({ name: 'payments-timeout', durationMs: 200 }),
    );
    registry.add(payments);
    const board = dashboard(registry, { intervalMs: 100, title: 'checkout' });
    const server = createServer((req, res) => board.handle(req, res) || res.writeHead(404).end());
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    // Traffic: calls of 2-20 ms, one in six failing, while two calls hold bulkhead slots.
    let n = 0;
    const inflight = new Set<Promise<unknown>>();
    const traffic = setInterval(() => {
      for (let i = 0; i < 3; i++) {
        const k = n++;
        const call = payments.executeOutcome(
          () =>
            new Promise((resolve, reject) =>
              setTimeout(() => (k % 6 === 0 ? reject(new Error('declined')) : resolve(k)), 2 + (k % 10) * 2),
            ),
        );
        inflight.add(call);
        call.finally(() => inflight.delete(call));
      }
    }, 10);
    const held = deferred();
    const holders = [pool.execute(() => held.promise), pool.execute(() => held.promise)];

    const profile = mkdtempSync(join(tmpdir(), 'bw-chromium-'));
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ARGS,
      viewport: { width: 1200, height: 800 },
    });
    try {
      const page = context.pages()[0] ?? (await context.newPage());
      const problems: string[] = [];
      const foreign: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error' || m.type() === 'warning') problems.push(m.text());
      });
      page.on('pageerror', (e) => problems.push(e.message));
      page.on('request', (r) => {
        if (!r.url().startsWith(base)) foreign.push(r.url());
      });

      await page.goto(`${base}/dashboard`);
      const card = '[data-policy="payments"]';
      await page.waitForSelector(`${card}[data-state="closed"]`);
      expect(await page.textContent(`${card} [data-field="state"]`)).toBe('closed');
      await page.waitForSelector('#status[data-state="live"]');
      expect(await page.title()).toBe('checkout · resilience dashboard');

      // Rates and percentiles fill in as frames arrive.
      const text = async (sel: string, f: string) =>
        (await page.textContent(`${sel} [data-field="${f}"]`)) ?? '-';
      const poll = { timeout: 10_000 };
      await expect.poll(async () => Number(await text(card, 'rate')), poll).toBeGreaterThan(0);
      await expect.poll(() => text(card, 'p99'), poll).not.toBe('-');
      await expect.poll(() => text(card, 'errorPct'), poll).not.toBe('-');
      const p50 = await text(card, 'p50');
      const p99 = await text(card, 'p99');
      expect(p50).toMatch(/^\d+(\.\d+)? ms$/);
      expect(p99).toMatch(/^\d+(\.\d+)? ms$/);
      expect(parseFloat(p99)).toBeGreaterThanOrEqual(parseFloat(p50));
      expect(await page.textContent(`${card} [data-field="errorPct"]`)).toMatch(/^\d+\.\d %$/);

      const poolCard = '[data-policy="payments-pool"]';
      await expect.poll(async () => Number(await text(poolCard, 'inflight')), poll).toBeGreaterThanOrEqual(2);
      expect(await page.textContent(`${poolCard} [data-field="limit"]`)).toBe('4');
      expect(await page.textContent(`${poolCard} [data-field="queueCapacity"]`)).toBe('8');
      expect(await page.getAttribute(`${poolCard}`, 'data-kind')).toBe('bulkhead');
      expect(await page.locator('[data-kind="retry"]').count()).toBe(1);
      expect(await page.locator('[data-kind="timeout"]').count()).toBe(1);

      // The SLO card: each objective with its compliance and error budget, and the alerts firing.
      const sloCard = '[data-policy="checkout-slo"]';
      await page.waitForSelector(`#slos ${sloCard}`);
      await expect.poll(() => text(sloCard, 'availabilityBudget'), poll).toMatch(/^-?\d+\.\d %$/);
      expect(await page.textContent(`${sloCard} [data-objective="latency"]`)).toContain('latency 99.00 %');
      expect(await page.textContent(`${sloCard} [data-field="availabilityAlerts"]`)).toMatch(
        /^(firing: .+|no burn-rate alert firing)$/,
      );

      // Force the breaker open: the page follows within a frame or two.
      breaker.open(60_000);
      await page.waitForSelector(`${card}[data-state="open"]`);
      expect(await page.textContent(`${card} [data-field="state"]`)).toBe('open');
      expect(await page.isVisible(`${card} [data-field="retryAfter"]`)).toBe(true);
      await expect.poll(() => text(card, 'rejected'), poll).not.toBe('0');

      const shot = join(profile, 'dashboard.png');
      await page.screenshot({ path: shot, fullPage: true });
      expect(readFileSync(shot).subarray(0, 8)).toEqual(
        Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      );

      // The CSP let the inline script and style run, and the page fetched nothing from elsewhere.
      expect(problems).toEqual([]);
      expect(foreign).toEqual([]);
      expect(board.clients).toBe(1);
      await page.close();
      await vi.waitFor(() => expect(board.clients).toBe(0), { timeout: 5_000 });
    } finally {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
      clearInterval(traffic);
      held.resolve('released');
      await Promise.all([...holders, ...inflight]);
      board.close();
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    }
  }, 60_000);

  it('keeps long names whole in a tooltip and the big figures on one line in a narrow card', async () => {
    const long = `orders-service-primary-database-read-replica-${'x'.repeat(60)}`;
    const breaker = circuitBreaker({ name: long });
    const board = dashboard(policyRegistry().add(breaker), { intervalMs: 100 });
    const server = createServer((req, res) => board.handle(req, res) || res.writeHead(404).end());
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const profile = mkdtempSync(join(tmpdir(), 'bw-chromium-'));
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ARGS,
      viewport: { width: 320, height: 640 },
    });
    try {
      await breaker.execute(async () => 'ok');
      const page = context.pages()[0] ?? (await context.newPage());
      await page.goto(`${base}/dashboard`);
      const card = `[data-policy="${long}"]`;
      await page.waitForSelector(`${card}[data-state="closed"]`, { timeout: 10_000 });
      const name = page.locator(`${card} .name`);
      expect(await name.getAttribute('title')).toBe(long);
      // Truncated on screen (the tooltip is the only place it reads whole).
      expect(await name.evaluate((e) => e.scrollWidth > e.clientWidth)).toBe(true);
      const big = page.locator(`${card} .big`).first();
      const lines = await big.evaluate((e) => {
        // The test's tsconfig has no DOM library: the page's global, typed as far as used.
        const page = globalThis as unknown as {
          getComputedStyle(e: unknown): { whiteSpace: string; fontSize: string };
        };
        const style = page.getComputedStyle(e);
        return {
          whiteSpace: style.whiteSpace,
          height: e.getBoundingClientRect().height,
          lineHeight: parseFloat(style.fontSize) * 2,
        };
      });
      expect(lines.whiteSpace).toBe('nowrap');
      expect(lines.height).toBeLessThan(lines.lineHeight);
    } finally {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
      board.close();
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    }
  }, 60_000);
});

if (!hasChromium) {
  describe('dashboard in headless Chromium', () => {
    it.skip(`skipped: no Chromium binary at ${CHROMIUM} (install Debian's chromium package or set CHROMIUM_PATH)`, () => {});
  });
}
