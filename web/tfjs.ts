/**
 * What `@tensorflow/tfjs` means inside the browser bundle (esbuild alias, scripts/build-web.mjs): the
 * union package's core part, i.e. tfjs-core with the chained tensor methods (x.reshape(…)) and the
 * gradients registered, as @tensorflow/tfjs sets them up. The union package would add tfjs-layers,
 * -converter and -data, which the model does not use, and every backend eagerly; the worker loads the
 * one backend it needs (worker.ts).
 */
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops';

export * from '@tensorflow/tfjs-core';
