/**
 * Training progress on the terminal: a live cli-progress bar (iteration, loss, it/s, ETA) when the
 * stream is a TTY, plain periodic lines otherwise (CI, logs, `> file`).
 */
import cliProgress from 'cli-progress';

export interface ProgressStep {
  step: number;
  total: number;
  loss: number;
  lr: number;
  /** iterations per second (recent average) */
  rate: number;
  /** seconds to the end at the recent rate */
  eta: number;
}

export interface TrainProgress {
  /** `every`: iterations between plain log lines (the run's train.logEvery) */
  start(total: number, initial: number, every?: number): void;
  step(s: ProgressStep): void;
  /** an event line (validation, checkpoint, warnings) */
  message(line: string): void;
  stop(): void;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(r).padStart(2, '0')}s` : `${r}s`;
}

function fmtLoss(v: number): string {
  return Number.isFinite(v) ? (Math.abs(v) >= 1e-3 ? v.toPrecision(5) : v.toExponential(3)) : String(v);
}

/** Plain lines: one every `every` iterations (and the last), events as they come. */
export function lineProgress(write: (s: string) => void, every?: number): TrainProgress {
  let last = -1;
  let n = every ?? 10;
  return {
    start(total, initial, runEvery) {
      if (every === undefined && runEvery) n = runEvery;
      write(`training: iteration ${initial} → ${total}, a line every ${n} iterations\n`);
    },
    step(s) {
      if (s.step % n !== 0 && s.step !== s.total) return;
      if (s.step === last) return;
      last = s.step;
      const spi = s.rate > 0 ? 1 / s.rate : NaN;
      write(`iter ${s.step}/${s.total}  loss ${fmtLoss(s.loss)}  lr ${s.lr.toExponential(2)}  ${spi.toFixed(2)} s/it  eta ${formatDuration(s.eta)}\n`);
    },
    message(line) {
      write(`${line}\n`);
    },
    stop() {},
  };
}

/** Live bar on a TTY (cli-progress MultiBar so event lines can be printed above it). */
export function barProgress(stream: NodeJS.WriteStream = process.stdout): TrainProgress {
  const multi = new cliProgress.MultiBar(
    {
      stream,
      format: 'train |{bar}| {value}/{total} | loss {loss} | {rate} it/s | ETA {etaText}',
      hideCursor: true,
      clearOnComplete: false,
      stopOnComplete: false,
      barsize: 30,
      fps: 5,
      forceRedraw: false,
    },
    cliProgress.Presets.shades_classic,
  );
  let bar: cliProgress.SingleBar | undefined;
  let stopped = false;
  return {
    start(total, initial) {
      bar = multi.create(total, initial, { loss: '-', rate: '-', etaText: '?' });
    },
    step(s) {
      bar?.update(s.step, { loss: fmtLoss(s.loss), rate: s.rate.toFixed(2), etaText: formatDuration(s.eta) });
    },
    message(line) {
      multi.log(`${line}\n`);
    },
    stop() {
      if (stopped) return;
      stopped = true;
      multi.stop();
    },
  };
}

export const silentProgress: TrainProgress = { start() {}, step() {}, message() {}, stop() {} };

/** bar on a TTY, lines otherwise. */
export function autoProgress(stream: NodeJS.WriteStream = process.stdout, every?: number): TrainProgress {
  return stream.isTTY ? barProgress(stream) : lineProgress((s) => stream.write(s), every);
}
