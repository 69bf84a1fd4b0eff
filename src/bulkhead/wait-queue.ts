import type { DeadlineEntry, Lane } from '../core/deadline-queue.js';
import { Waiter, type WaiterOwner } from '../core/waiter.js';

/** Hooks a bulkhead waiter calls back into when it leaves the queue on its own. */
export interface BulkheadWaiterOwner extends WaiterOwner<BulkheadWaiter> {
  onWaiterExpired(waiter: BulkheadWaiter): void;
}

/** A call waiting for a bulkhead slot. It is also its own max-wait deadline entry: no timer per waiter. */
export class BulkheadWaiter extends Waiter implements DeadlineEntry {
  readonly partition: number;
  /** Arrival order across partitions (FIFO between them). */
  readonly seq: number;
  readonly enqueuedAt: number;
  // Deadline-queue links.
  deadline: number;
  prevEntry: DeadlineEntry | null = null;
  nextEntry: DeadlineEntry | null = null;
  lane: Lane | null = null;

  constructor(
    partition: number,
    seq: number,
    enqueuedAt: number,
    deadline: number,
    owner: BulkheadWaiterOwner,
  ) {
    super(owner as WaiterOwner<never>);
    this.partition = partition;
    this.seq = seq;
    this.enqueuedAt = enqueuedAt;
    this.deadline = deadline;
  }

  onDeadline(): void {
    (this.owner as BulkheadWaiterOwner).onWaiterExpired(this);
  }

  override detach(): void {
    super.detach();
    if (this.lane !== null) this.lane.remove(this);
  }
}
