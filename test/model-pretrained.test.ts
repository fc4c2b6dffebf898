/** The bundled-model registry (src/model/pretrained.ts): the default model, bare names, labels without local paths, unknown names. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_MODEL_NAME, bundledModelNames, bundledModelsDir, defaultModelDir, resolveModelDir } from '../src/model/pretrained.js';
import { UserError } from '../src/runtime/errors.js';

test('the default model is the bundled one, with a clear error until it exists', () => {
  if (existsSync(join(defaultModelDir(), 'model.json'))) {
    assert.equal(resolveModelDir().dir, defaultModelDir());
    assert.equal(resolveModelDir('default').isDefault, true);
    // committed reports carry the label: it must not name this machine's directories
    assert.equal(resolveModelDir().label, `default (outputs/pretrained/${DEFAULT_MODEL_NAME})`);
    // every bundled model is reachable by its bare name, from any working directory
    const names = bundledModelNames();
    assert.ok(names.includes(DEFAULT_MODEL_NAME), names.join(','));
    for (const name of names) {
      const r = resolveModelDir(name);
      assert.equal(r.dir, join(bundledModelsDir(), name));
      assert.equal(r.label, `outputs/pretrained/${name}`);
      assert.equal(r.isDefault, name === DEFAULT_MODEL_NAME);
    }
    assert.throws(
      () => resolveModelDir('no-such-model'),
      (e: unknown) => e instanceof UserError && e.message === `model directory not found: no-such-model (bundled models: ${names.join(', ')}; or "default")`,
    );
  } else {
    assert.throws(() => resolveModelDir(), (e: unknown) => e instanceof UserError && /bundled model is not there yet/.test(e.message));
  }
});
