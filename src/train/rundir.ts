/**
 * Run-directory housekeeping: a pid lock so two trainers never write the same run, and recovery of
 * a checkpoint whose atomic swap was cut by a kill. saveCheckpoint (src/model/checkpoint.ts) writes
 * `.NAME.tmp-*` completely (manifest last), renames NAME → `.NAME.old-*`, the temp dir → NAME, then
 * deletes the old one; a kill between the two renames leaves no NAME/ but two hidden complete
 * copies. `recoverCheckpoint` puts the newest complete one back and removes leftovers.
 * `truncateMetrics` cuts metrics.jsonl back to the checkpoint a session starts from.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { isCheckpoint, loadCheckpoint } from '../model/checkpoint.js';
import { UserError } from '../runtime/errors.js';
import { writeFileAtomic } from '../report/files.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Take `runDir/.lock` (stale locks of dead processes are taken over); returns the release function. */
export async function lockRunDir(runDir: string): Promise<() => Promise<void>> {
  const path = join(runDir, '.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fh = await open(path, 'wx');
      await fh.writeFile(`${process.pid}\n`);
      await fh.close();
      return async () => {
        await rm(path, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number(readFileSync(path, 'utf8').trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
        throw new UserError(`${runDir} is in use by another crevnet train (pid ${pid})`);
      }
      await rm(path, { force: true });
    }
  }
  throw new UserError(`cannot lock ${runDir}`);
}

function stepOf(dir: string): number {
  try {
    const s = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as { step?: unknown };
    return typeof s.step === 'number' ? s.step : -1;
  } catch {
    return -1;
  }
}

/**
 * Make sure `runDir/name` is the newest complete checkpoint when a save was interrupted, and delete
 * hidden leftovers of interrupted saves. Returns a note when something was recovered.
 */
export async function recoverCheckpoint(runDir: string, name: string): Promise<string | undefined> {
  if (!existsSync(runDir)) return undefined;
  const leftovers = readdirSync(runDir)
    .filter((e) => e.startsWith(`.${name}.tmp-`) || e.startsWith(`.${name}.old-`))
    .map((e) => join(runDir, e));
  let note: string | undefined;
  const target = join(runDir, name);
  if (!existsSync(target)) {
    const candidates = leftovers
      .filter((d) => isCheckpoint(d))
      .map((d) => ({ d, step: stepOf(d), tmp: d.includes('.tmp-') }))
      .sort((a, b) => b.step - a.step || Number(b.tmp) - Number(a.tmp));
    for (const c of candidates) {
      try {
        const ck = await loadCheckpoint(c.d); // verifies every hash
        ck.model.dispose();
        for (const w of ck.optimizerWeights ?? []) w.tensor.dispose();
      } catch {
        continue;
      }
      await rename(c.d, target);
      note = `recovered ${name}/ (iteration ${c.step}) from an interrupted save`;
      break;
    }
  }
  for (const d of leftovers) if (existsSync(d)) await rm(d, { recursive: true, force: true });
  return note;
}

/** Keep only metrics.jsonl records up to `step` (lines written after the checkpoint are replayed). */
export async function truncateMetrics(path: string, step: number): Promise<void> {
  if (!existsSync(path)) return;
  const keep: string[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      const r = JSON.parse(line) as { step?: number };
      if (typeof r.step === 'number' && r.step <= step) keep.push(line);
    } catch {
      // a line cut by a kill: drop it
    }
  }
  await writeFileAtomic(path, keep.length ? `${keep.join('\n')}\n` : '');
}
