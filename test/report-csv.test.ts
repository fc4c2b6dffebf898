/** CSV writing (src/report/csv.ts): quoting, non-finite cells, row width. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toCsv } from '../src/report/csv.js';

test('CSV quoting, non-finite cells and row width check', () => {
  assert.equal(toCsv(['a', 'b'], [[1, 'x,y'], [Infinity, 'q"r'], [NaN, null]]), 'a,b\n1,"x,y"\ninf,"q""r"\nnan,\n');
  assert.throws(() => toCsv(['a'], [[1, 2]]), /2 cells/);
});
