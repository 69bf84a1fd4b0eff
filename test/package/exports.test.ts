import { expect, it } from 'vitest';

// A change to the public API shows up as a diff of this snapshot, to be reviewed like any other.
it('exports exactly the reviewed public names', async () => {
  const api = await import('../../src/index.js');
  expect(
    Object.keys(api)
      .sort()
      .map((name) => `${name}: ${typeof (api as Record<string, unknown>)[name]}`),
  ).toMatchSnapshot();
});
