/**
 * Whether the webgpu tests can run here. In CI (env CI=true) a missing adapter is a failure: CI installs
 * Mesa's lavapipe (.ci/run). On a developer's machine without a Vulkan driver the tests skip and say why.
 */
import { initBackend } from '../src/runtime/backend.js';

let probed: Promise<string | undefined> | undefined;

/** undefined when webgpu works in this process (it is then the current backend), else why not. */
export function webgpuSkipReason(): Promise<string | undefined> {
  probed ??= (async () => {
    try {
      await initBackend('webgpu');
      return undefined;
    } catch (err) {
      const reason = `webgpu tests skipped: ${(err as Error).message}`;
      if (process.env.CI === 'true') throw new Error(`CI needs a WebGPU adapter (lavapipe, installed by .ci/run): ${reason}`);
      process.stderr.write(`${reason}\n`);
      return reason;
    }
  })();
  return probed;
}
