import type { DashboardFrame } from '../../../src/integrations/dashboard/index.js';

/** A server-sent event stream read with fetch, one `data:` message at a time. */
export interface FrameStream {
  readonly response: Response;
  /** The next frame; rejects if the stream ends first. */
  next(): Promise<DashboardFrame>;
  /** Resolves once the server has ended the stream. */
  ended(): Promise<void>;
  /** Disconnects, as a closed browser tab does. */
  close(): void;
}

export async function openStream(url: string): Promise<FrameStream> {
  const controller = new AbortController();
  const response = await fetch(url, { signal: controller.signal, headers: { accept: 'text/event-stream' } });
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let done = false;

  async function message(): Promise<string | undefined> {
    for (;;) {
      const end = buffer.indexOf('\n\n');
      if (end !== -1) {
        const raw = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        return raw;
      }
      if (done) return undefined;
      const chunk = await reader.read();
      if (chunk.done) done = true;
      else buffer += decoder.decode(chunk.value, { stream: true });
    }
  }

  return {
    response,
    async next() {
      for (;;) {
        const raw = await message();
        if (raw === undefined) throw new Error('the event stream ended');
        const data = raw
          .split('\n')
          .filter((line) => line.startsWith('data: '))
          .map((line) => line.slice(6))
          .join('\n');
        if (data !== '') return JSON.parse(data) as DashboardFrame;
      }
    },
    async ended() {
      while ((await message()) !== undefined) {}
    },
    close() {
      controller.abort();
      reader.cancel().catch(() => {});
    },
  };
}
