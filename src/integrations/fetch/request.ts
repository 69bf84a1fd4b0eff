// What the fetch integration reads from a fetch call's arguments. Inputs are duck-typed: the global
// Request, undici's and node-fetch's all have `url`, `method`, `headers`, `body`, `signal`, `clone()`.

export interface RequestLike {
  readonly url: string;
  readonly method: string;
  readonly headers: { get(name: string): string | null };
  readonly body: unknown;
  readonly signal?: AbortSignal | null;
  clone(): RequestLike;
}

export interface InitLike {
  method?: string;
  headers?: unknown;
  body?: unknown;
  signal?: AbortSignal | null;
}

export function isRequestLike(input: unknown): input is RequestLike {
  return (
    typeof input === 'object' &&
    input !== null &&
    typeof (input as RequestLike).url === 'string' &&
    typeof (input as RequestLike).method === 'string' &&
    typeof (input as RequestLike).clone === 'function'
  );
}

export function urlOf(input: unknown): URL {
  if (input instanceof URL) return input;
  return new URL(isRequestLike(input) ? input.url : String(input));
}

export function methodOf(input: unknown, init: InitLike | undefined): string {
  const method = init?.method ?? (isRequestLike(input) ? input.method : 'GET');
  return method.toUpperCase();
}

/** Whether `headers` (a Headers, an array of pairs or a record) holds `name` (lower case). */
function initHas(headers: unknown, name: string): boolean {
  if (headers === undefined || headers === null) return false;
  if (typeof (headers as { has?: unknown }).has === 'function') return (headers as Headers).has(name);
  if (Array.isArray(headers)) return headers.some((pair) => String(pair[0]).toLowerCase() === name);
  if (typeof headers === 'object') return Object.keys(headers).some((k) => k.toLowerCase() === name);
  return false;
}

export function hasHeader(input: unknown, init: InitLike | undefined, name: string): boolean {
  if (init?.headers !== undefined) return initHas(init.headers, name);
  return isRequestLike(input) && input.headers.get(name) !== null;
}

/**
 * Whether a body can be sent again: strings, buffers, blobs, form data and search params can; a
 * stream or an async iterable is consumed by the first attempt.
 */
export function replayable(body: unknown): boolean {
  if (body === undefined || body === null || typeof body === 'string') return true;
  if (typeof body !== 'object') return false;
  if (body instanceof ArrayBuffer || ArrayBuffer.isView(body)) return true;
  if (typeof (body as { getReader?: unknown }).getReader === 'function') return false;
  if (typeof (body as { pipe?: unknown }).pipe === 'function') return false;
  if (Symbol.asyncIterator in body) return false;
  // Blob, FormData, URLSearchParams: the fetch implementation re-reads them on every call.
  return true;
}
