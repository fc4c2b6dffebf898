#!/usr/bin/env node
/** The crevnet command line: global options and one module per command in cli/. */
import { Command, CommanderError, Option } from 'commander';
import { BACKEND_CHOICES, shutdownBackend } from './runtime/backend.js';
import { packageVersion } from './runtime/package-root.js';
import { reportError, setDebug } from './cli/common.js';
import { register as registerInfo } from './cli/info.js';
import { register as registerDataset } from './cli/dataset.js';
import { register as registerMetrics } from './cli/metrics.js';
import { register as registerPredict } from './cli/predict.js';
import { register as registerTrain } from './cli/train.js';
import { register as registerEval } from './cli/eval.js';
import { register as registerBench } from './cli/bench.js';
import { register as registerModel } from './cli/model.js';
import { register as registerServe } from './cli/serve.js';

const program = new Command('crevnet')
  .description('CrevNet video prediction: reversible 3D autoencoder + reversible ConvRNN, on tfjs')
  .version(packageVersion())
  .addOption(
    new Option('--backend <name>', 'tfjs backend (env CREVNET_BACKEND)')
      .choices([...BACKEND_CHOICES])
      .env('CREVNET_BACKEND')
      .default('auto'),
  )
  .option('--debug', 'print stack traces on errors')
  .exitOverride()
  .hook('preAction', (thisCommand) => setDebug(Boolean(thisCommand.opts().debug)));

for (const register of [registerInfo, registerDataset, registerMetrics, registerPredict, registerTrain, registerEval, registerBench, registerModel, registerServe]) register(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // commander has already printed its one-line message; help/version exit 0, usage errors 2.
    process.exitCode = err.exitCode === 0 ? 0 : 2;
  } else {
    reportError(err);
  }
} finally {
  // release a WebGPU device and Dawn's instance before Node tears down (docs/gpu.md)
  await shutdownBackend().catch(() => undefined);
}
