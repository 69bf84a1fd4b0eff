import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach } from 'vitest';

const apps: FastifyInstance[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

/** A Fastify instance closed at the end of the test. */
export function app(): FastifyInstance {
  // Requests still hanging in a test must not delay close().
  const instance = Fastify({ forceCloseConnections: true });
  apps.push(instance);
  return instance;
}

/** Serves on 127.0.0.1; returns the base URL. */
export async function listen(instance: FastifyInstance): Promise<string> {
  return instance.listen({ port: 0, host: '127.0.0.1' });
}
