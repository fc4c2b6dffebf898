/** `crevnet serve`: the browser app and the bundled models on a local HTTP server (src/server/app.ts). */
import { Option, type Command } from 'commander';
import { DEFAULT_MODEL_NAME } from '../model/pretrained.js';
import { UserError } from '../runtime/errors.js';
import { defaultAppDir, defaultSamplesDir, servedModels, startServer } from '../server/app.js';
import { action } from './common.js';

interface ServeCliOptions {
  port: number;
  host: string;
  model?: string;
  appDir?: string;
}

function parsePort(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isInteger(n) || n > 65535) {
    throw new UserError(`--port must be an integer from 0 to 65535 (0 = any free port), got "${value}"`);
  }
  return n;
}

export function register(program: Command): void {
  program
    .command('serve')
    .description('serve the browser app (predict a video in the page, on its GPU) and the bundled models on localhost')
    .option('--port <n>', 'port (0 = any free port)', parsePort, 8080)
    .option('--host <address>', 'address to bind (other machines can connect unless it is a loopback address)', '127.0.0.1')
    .option('--model <dir|name>', `offer this model too and select it in the page (default: the bundled ${DEFAULT_MODEL_NAME})`)
    .addOption(new Option('--app-dir <dir>', 'the built app to serve (default: dist/web of the package)').hideHelp())
    .action(
      action(async (opts: ServeCliOptions) => {
        const { models, defaultModel } = servedModels(opts.model);
        const running = await startServer({
          port: opts.port,
          host: opts.host,
          appDir: opts.appDir ?? defaultAppDir(),
          samplesDir: defaultSamplesDir(),
          models,
          defaultModel,
        });
        process.stdout.write(`crevnet serve: ${running.url}  (models: ${models.map((m) => m.name).join(', ')}; Ctrl+C stops)\n`);
        await new Promise<void>((resolve) => {
          const stop = (): void => {
            process.off('SIGINT', stop);
            process.off('SIGTERM', stop);
            void running.close().then(resolve);
          };
          process.on('SIGINT', stop);
          process.on('SIGTERM', stop);
        });
      }),
    );
}
