/** The links a node carries to sit in a `List`: at most one list at a time. */
export interface Linked<N> {
  prev: N | null;
  next: N | null;
}

/**
 * Intrusive doubly linked list: the links live on the nodes, so pushing allocates nothing and removing
 * from the middle is O(1). A node is listed iff it has a predecessor or is the head, so no flag is
 * needed; removing a node that is not listed does nothing. A node must not be in two lists at once.
 */
export class List<N extends Linked<N>> {
  #head: N | null = null;
  #tail: N | null = null;
  size = 0;

  /** The first node, or null. */
  peek(): N | null {
    return this.#head;
  }

  /** The last node, or null. */
  last(): N | null {
    return this.#tail;
  }

  /** Whether `node` is in this list (O(1)). */
  has(node: N): boolean {
    return node.prev !== null || this.#head === node;
  }

  /** Appends `node`, which must not be listed. */
  push(node: N): void {
    const tail = this.#tail;
    node.prev = tail;
    node.next = null;
    if (tail === null) this.#head = node;
    else tail.next = node;
    this.#tail = node;
    this.size++;
  }

  /** Prepends `node`, which must not be listed. */
  unshift(node: N): void {
    const head = this.#head;
    node.prev = null;
    node.next = head;
    if (head === null) this.#tail = node;
    else head.prev = node;
    this.#head = node;
    this.size++;
  }

  /** Removes and returns the first node, or null. */
  shift(): N | null {
    const node = this.#head;
    if (node !== null) this.#unlink(node);
    return node;
  }

  /** Removes `node` if it is listed here; returns whether it was. */
  remove(node: N): boolean {
    if (node.prev === null && this.#head !== node) return false;
    this.#unlink(node);
    return true;
  }

  /** Empties the list, unlinking every node. */
  clear(): void {
    for (let node = this.#head; node !== null; ) {
      const next = node.next;
      node.prev = node.next = null;
      node = next;
    }
    this.#head = this.#tail = null;
    this.size = 0;
  }

  /** First to last. Removing the current node while iterating is allowed. */
  *[Symbol.iterator](): IterableIterator<N> {
    for (let node = this.#head; node !== null; ) {
      const next = node.next;
      yield node;
      node = next;
    }
  }

  #unlink(node: N): void {
    const { prev, next } = node;
    if (prev === null) this.#head = next;
    else prev.next = next;
    if (next === null) this.#tail = prev;
    else next.prev = prev;
    node.prev = node.next = null;
    this.size--;
  }
}
