/**
 * The server's sessions in progress, as a doubly linked list through the sessions themselves.
 *
 * Not a Set: measured here, a Set that sessions keep entering and leaving kept ended sessions
 * reachable through young-generation collections until the next full one, so each young
 * collection copied and promoted about 200 KB of dead sessions at concurrency 1 (about 7 KB with
 * this list) and paused twice as long. V8 keeps the replaced hash tables of a Set for iterators
 * that may still walk them, the likely way. Unlinking here drops the last reference at once.
 */
export interface Linked<T> {
  listPrev: T | null;
  listNext: T | null;
}

export class LiveList<T extends Linked<T>> {
  private head: T | null = null;
  private count = 0;

  get size(): number {
    return this.count;
  }

  add(item: T): void {
    item.listPrev = null;
    item.listNext = this.head;
    if (this.head !== null) this.head.listPrev = item;
    this.head = item;
    this.count++;
  }

  /** Unlink `item`; an item not in the list is left alone. */
  delete(item: T): void {
    if (item.listPrev === null && this.head !== item) return;
    if (item.listPrev !== null) item.listPrev.listNext = item.listNext;
    else this.head = item.listNext;
    if (item.listNext !== null) item.listNext.listPrev = item.listPrev;
    item.listPrev = null;
    item.listNext = null;
    this.count--;
  }

  /** The items now in the list, newest first (a copy: deleting while walking it is safe). */
  toArray(): T[] {
    const out: T[] = [];
    for (let item = this.head; item !== null; item = item.listNext) out.push(item);
    return out;
  }
}
