// Run by retry-after.test.ts in a child process under a given TZ: prints the zone offset it sees and
// what parseRetryAfter makes of each value (given as JSON in argv[2]) at the instant in argv[3].
import { parseRetryAfter } from '../../../src/integrations/fetch/index.js';

const values = JSON.parse(process.argv[2] ?? '[]') as string[];
const now = Number(process.argv[3]);
process.stdout.write(
  JSON.stringify({
    offsetMinutes: new Date(now).getTimezoneOffset(),
    parsed: values.map((value) => parseRetryAfter(value, now) ?? null),
  }),
);
