/** Report files (src/report/files.ts): JSON that keeps non-finite numbers readable. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toJson } from '../src/report/files.js';

test('JSON writer keeps non-finite numbers readable', () => {
  assert.equal(toJson({ psnr: Infinity, x: 1 }), '{\n  "psnr": "Infinity",\n  "x": 1\n}\n');
});
