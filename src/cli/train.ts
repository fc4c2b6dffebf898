/** `crevnet train`: parse, run src/train/trainer.ts, print a summary. Ctrl-C saves and exits 0. */
import { Command, InvalidArgumentError, Option } from 'commander';
import { FIT_MODES, type FitMode } from '../video/ffmpeg.js';
import { UserError } from '../runtime/errors.js';
import { action, parseIntOption, parseNonNegativeNumber, parseNumberOption, parsePositiveInt, parseWorkers, startBackend } from './common.js';
import { train, type TrainOverrides } from '../train/trainer.js';
import { autoProgress } from '../train/progress.js';
import { formatDuration } from '../train/progress.js';

/**
 * The parsed flags: every training setting's flag is named after its key (--clip-loss → clipLoss) and
 * parsed to the setting's value, so the settings pass to train() as they are; the rest run the command.
 */
interface TrainCliOptions extends TrainOverrides {
  config?: string;
  out?: string;
  resume?: boolean;
  initFrom?: string;
  /** train.validationSequences */
  valCount?: number;
  stopAt?: number;
  /** --data videos and how to read them (not training settings: they go to train() as `data`) */
  data?: string[];
  valData?: string[];
  valSplit?: number;
  frameStep?: number;
  fit?: FitMode;
  dataMemory?: number;
}

function parseFraction(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < 0 || n >= 1) throw new UserError(`${name} must be a fraction in [0, 1), got "${value}"`);
    return n;
  };
}

/** 'on' | 'off' → true | false. */
function parseOnOff(value: string): boolean {
  if (value === 'on' || value === 'off') return value === 'on';
  throw new InvalidArgumentError('Allowed choices are on, off.');
}

/** The command line as a shell would need it (arguments with spaces or quotes are quoted). */
export function commandLine(argv: string[] = process.argv.slice(2)): string {
  const q = (a: string) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);
  const env = process.env.CREVNET_BACKEND && !argv.includes('--backend') ? `CREVNET_BACKEND=${q(process.env.CREVNET_BACKEND)} ` : '';
  return `${env}crevnet ${argv.map(q).join(' ')}`;
}

export function register(program: Command): void {
  program
    .command('train')
    .description('train CrevNet on Moving MNIST generated on the fly, or on your own videos with --data (resumable; Ctrl-C saves a checkpoint)')
    .option('--config <name|file>', 'model + training config: paper, medium, small, tiny, color-small or a .json file (required for a new run)')
    .option('--data <videos...>', 'train on these videos (files, directories, globs) instead of Moving MNIST; decoded once to the config\'s imageSize (C = 1 gray, 3 RGB)')
    .option('--val-data <videos...>', 'held-out videos for validation (default: --val-split of the --data files)')
    .option('--val-split <f>', 'fraction of the --data files held out for validation, whole files (default 0.2, none for a single video; 0 = no validation)', parseFraction('--val-split'))
    .option('--frame-step <k>', 'take every k-th frame of the videos (for slow footage; default 1)', parsePositiveInt('--frame-step'))
    .addOption(new Option('--fit <mode>', 'fit the videos\' aspect ratio to the model frame (default crop)').choices([...FIT_MODES]))
    .option('--data-memory <MB>', 'decoded frames kept in memory; beyond it they are read from the run\'s cache/ (default 2048)', parsePositiveInt('--data-memory'))
    .option('--out <dir>', 'run directory (default outputs/runs/<config>-<time>)')
    .option('--resume', 'continue the run in --out from its last/ checkpoint, exactly')
    .option('--init-from <checkpoint>', 'start a new run from the weights of a checkpoint directory (same model as --config; fresh optimizer, schedule and data)')
    .option('--iterations <n>', 'total iterations of the run (schedule length)', parsePositiveInt('--iterations'))
    .option('--batch <n>', 'sequences per iteration', parsePositiveInt('--batch'))
    .option('--lr <x>', 'learning rate (peak for one-cycle)', parseNumberOption('--lr'))
    .option('--seed <n>', 'seed of the model init and the data stream (new runs)', parseIntOption('--seed'))
    .addOption(new Option('--mode <mode>', "loss: 'teacher' forcing (paper) or the test-time 'rollout'").choices(['teacher', 'rollout']))
    .option('--l1 <w>', 'add w·mean|prediction − truth| to the MSE loss (train.l1; 0 = MSE only, as in the paper)', parseNonNegativeNumber('--l1'))
    .option('--ssim <w>', 'add w·mean(1 − SSIM(prediction, truth)) to the loss (train.ssim; 0 = off)', parseNonNegativeNumber('--ssim'))
    .option('--clip-loss <on|off>', "score predictions clipped to [0, 1] as SSIM and PSNR do (train.clipLoss): beyond-range values on the truth's side cost nothing", parseOnOff)
    .option('--freeze-norm <on|off>', 'BatchNorm with the running statistics, frozen, as the test rollout normalises (train.freezeNorm; for fine-tuning a trained model)', parseOnOff)
    .option('--grad-clip <x>', 'clip gradients to this global norm', parseNumberOption('--grad-clip'))
    .option('--checkpoint-every <n>', 'iterations between checkpoints', parsePositiveInt('--checkpoint-every'))
    .option('--validate-every <n>', 'iterations between validations', parsePositiveInt('--validate-every'))
    .option('--val-count <n>', 'validation sequences (fixed per run)', parsePositiveInt('--val-count'))
    .option('--log-every <n>', 'iterations between log lines when stdout is not a terminal (default train.logEvery)', parsePositiveInt('--log-every'))
    .option('--workers <n|auto>', "threads per training step (data parallel over worker_threads; 'auto' = min(2, cores) on wasm/cpu); default train.workers", parseWorkers('--workers'))
    .option('--stop-at <n>', 'save and stop after this many iterations (the schedule still spans --iterations)', parsePositiveInt('--stop-at'))
    .action(
      action(async (opts: TrainCliOptions, cmd: Command) => {
        const be = await startBackend(cmd);
        const { config, out, resume, initFrom, valCount, stopAt, data: inputs, valData, valSplit, frameStep, fit, dataMemory, ...settings } = opts;
        const overrides: TrainOverrides = { ...settings, validationSequences: valCount };
        if (!inputs && (valData || valSplit !== undefined || frameStep !== undefined || fit || dataMemory !== undefined)) {
          throw new UserError('--val-data, --val-split, --frame-step, --fit and --data-memory apply to --data videos');
        }
        if (valData && valSplit !== undefined) throw new UserError('give either --val-data or --val-split, not both');
        const data = inputs
          ? { inputs, valInputs: valData, valSplit, frameStep, fit, memoryBudget: dataMemory === undefined ? undefined : dataMemory * 1024 * 1024 }
          : undefined;
        const controller = new AbortController();
        let signals = 0;
        const onSignal = (sig: NodeJS.Signals) => {
          signals++;
          if (signals === 1) {
            process.stderr.write(`\n${sig}: finishing this iteration and saving a checkpoint (press Ctrl-C again to quit at once)\n`);
            controller.abort();
          } else {
            process.stderr.write(`${sig}: quitting without a checkpoint\n`);
            process.exit(130);
          }
        };
        process.on('SIGINT', onSignal);
        process.on('SIGTERM', onSignal);
        const progress = autoProgress(process.stdout, opts.logEvery);
        progress.message(`backend ${be.backend}`);
        try {
          const r = await train(
            { config, out, resume, initFrom, data, overrides, stopAt, signal: controller.signal, command: commandLine(), progress },
            {},
          );
          const best = r.best ? `best validation SSIM ${r.best.value.toFixed(4)} (MSE ${r.best.mse.toFixed(1)}) at iteration ${r.best.step}` : 'no validation yet';
          const spi = Number.isFinite(r.secondsPerIteration) ? `${r.secondsPerIteration.toFixed(3)} s/iteration` : '';
          const verb = r.status === 'completed' ? 'done' : r.status === 'interrupted' ? 'interrupted' : 'stopped';
          process.stdout.write(
            `${verb}: iteration ${r.step}/${r.iterations}${Number.isFinite(r.lastLoss) ? `, loss ${r.lastLoss.toPrecision(5)}` : ''}, ${best}${spi ? `, ${spi}` : ''}` +
              `${r.status !== 'completed' ? `; continue with --resume --out ${r.runDir}` : ''}\nrun: ${r.runDir} (loss_curve.png, summary.json, last/, best/)\n`,
          );
          if (Number.isFinite(r.secondsPerIteration) && r.status === 'completed') {
            process.stdout.write(`time: ${formatDuration(r.secondsPerIteration * (r.step || 0))} of training this session\n`);
          }
        } finally {
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
        }
      }),
    );
}
