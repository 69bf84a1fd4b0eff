import type { OutcomeWindow, WindowExport } from './types.js';

/**
 * Counts failures in a row; any success ends the streak. `calls` equals `failures`: the window holds
 * exactly the current streak. Slow calls are not judged here (only rate windows judge them).
 */
export class ConsecutiveWindow implements OutcomeWindow {
  failures = 0;
  readonly slowCalls = 0;

  get calls(): number {
    return this.failures;
  }

  record(failed: boolean): void {
    this.failures = failed ? this.failures + 1 : 0;
  }

  advance(): void {}

  reset(): void {
    this.failures = 0;
  }

  export(): WindowExport {
    return { kind: 'consecutive', failures: this.failures };
  }

  import(data: WindowExport): boolean {
    if (data.kind !== 'consecutive' || !Number.isInteger(data.failures) || data.failures < 0) return false;
    this.failures = data.failures;
    return true;
  }
}
