import test from 'ava';
import { type Linked, LiveList } from '../../../src/server/live-list.ts';

class Item implements Linked<Item> {
  listPrev: Item | null = null;
  listNext: Item | null = null;
  constructor(readonly name: string) {}
}

const names = (list: LiveList<Item>) => list.toArray().map((i) => i.name);

test('items are listed newest first and leave from anywhere in the list', (t) => {
  const list = new LiveList<Item>();
  const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((n) => new Item(n)) as [Item, Item, Item, Item];
  for (const i of [a, b, c, d]) list.add(i);
  t.deepEqual(names(list), ['d', 'c', 'b', 'a']);
  t.is(list.size, 4);
  list.delete(c); // middle
  list.delete(d); // head
  list.delete(a); // tail
  t.deepEqual(names(list), ['b']);
  t.is(list.size, 1);
  list.delete(b);
  t.deepEqual(names(list), []);
  t.is(list.size, 0);
});

test('a deleted item keeps no link to the list, and deleting it again or an outsider changes nothing', (t) => {
  const list = new LiveList<Item>();
  const a = new Item('a');
  const b = new Item('b');
  const outsider = new Item('x');
  list.add(a);
  list.add(b);
  list.delete(a);
  t.is(a.listPrev, null);
  t.is(a.listNext, null);
  t.is(b.listNext, null, 'the neighbour no longer points at it');
  list.delete(a);
  list.delete(outsider);
  t.deepEqual(names(list), ['b']);
  t.is(list.size, 1);
});

test('toArray is a copy: deleting every item while walking it leaves an empty list', (t) => {
  const list = new LiveList<Item>();
  for (let i = 0; i < 100; i++) list.add(new Item(String(i)));
  for (const item of list.toArray()) list.delete(item);
  t.is(list.size, 0);
  t.deepEqual(names(list), []);
});
