import { connect } from 'node:net';

/** What a cancel request needs from a connected pg client (pg sets these from BackendKeyData). */
interface KeyedClient {
  readonly host?: string;
  readonly port?: number;
  readonly processID?: number | null;
  readonly secretKey?: number | null;
}

/** Protocol code of a CancelRequest (1234 << 16 | 5678). */
const CANCEL_REQUEST_CODE = 80877102;

/**
 * Asks the server to cancel whatever `client`'s backend is running, as libpq's PQcancel does: a
 * 16-byte CancelRequest on a new connection, with the backend's process id and secret key. It needs no
 * pool slot and no authentication, and the server closes the connection at once. Best effort: errors
 * are ignored, and a query that finished meanwhile is unaffected (the caller must not reuse the
 * connection afterwards, or the cancel could hit its next query). Not sent over TLS (as libpq before
 * PostgreSQL 17); returns false when the client's key is unknown.
 */
export function sendCancelRequest(client: unknown): boolean {
  const c = client as KeyedClient;
  if (typeof c.processID !== 'number' || typeof c.secretKey !== 'number') return false;
  const message = Buffer.alloc(16);
  message.writeInt32BE(16, 0);
  message.writeInt32BE(CANCEL_REQUEST_CODE, 4);
  message.writeInt32BE(c.processID, 8);
  message.writeInt32BE(c.secretKey, 12);
  const host = c.host ?? 'localhost';
  const port = c.port ?? 5432;
  const socket = host.startsWith('/') ? connect(`${host}/.s.PGSQL.${port}`) : connect(port, host);
  socket.on('error', () => socket.destroy());
  // A cancel must never keep a process alive or hang: the server answers by closing the connection.
  socket.setTimeout(10_000, () => socket.destroy());
  socket.unref();
  socket.end(message);
  return true;
}
