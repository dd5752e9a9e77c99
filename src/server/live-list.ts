/**
 * The server's sessions in progress, as a doubly linked list through the sessions themselves.
 *
 * Not a Set: a Set that many sessions enter and leave is rehashed again and again, and V8 keeps
 * each replaced hash table, with every session it held, for iterators that might still walk it.
 * Once such a table has been promoted to the old generation it keeps ended sessions alive through
 * every young-generation collection until the next full one, so each collection copies and
 * promotes hundreds of dead sessions. Unlinking here drops the last reference at once.
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
