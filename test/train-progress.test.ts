/** Training progress (src/train/progress.ts): durations in compact h/m/s. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDuration } from '../src/train/progress.js';

test('formatDuration: hours and minutes above an hour, minutes and seconds below', () => {
  assert.equal(formatDuration(3725), '1h02m');
  assert.equal(formatDuration(65), '1m05s');
});
