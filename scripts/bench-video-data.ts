/**
 * Throughput of the video data path (docs/performance.md, "Video data"): first decode through ffmpeg, the
 * .npy cache read back by a later session, and the time `nextBatch` takes for a training batch, from memory and
 * from the cache file on disk (past the memory budget).
 *   npx tsx scripts/bench-video-data.ts <videos|dir> [HxWxC=64x64x3] [frames=20] [batch=4]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closeVideos, loadVideos, VideoWindowStream, windowSpan, type ImageSize } from '../src/video/dataset.js';
import { expandInputs } from '../src/video/inputs.js';
import { probeVideo } from '../src/video/ffmpeg.js';
import { Rng } from '../src/data/rng.js';

const [input = 'datasets/own', size = '64x64x3', framesArg = '20', batchArg = '4'] = process.argv.slice(2);
const imageSize = size.split('x').map(Number) as ImageSize;
const frames = Number(framesArg);
const batch = Number(batchArg);
const files = await expandInputs([input], 'input');
const probes = await Promise.all(files.map((f) => probeVideo(f)));
const sources = [...new Set(probes.map((p) => `${p.width}×${p.height}`))].join(', ');
const cacheDir = await mkdtemp(join(tmpdir(), 'crevnet-bench-cache-'));
const o = { imageSize, fit: 'crop' as const, minFrames: windowSpan(frames, 1), cacheDir };
const time = async <T>(f: () => Promise<T>): Promise<[T, number]> => {
  const t0 = performance.now();
  const r = await f();
  return [r, (performance.now() - t0) / 1000];
};
try {
  const [first, tDecode] = await time(() => loadVideos(files, o));
  const n = first.videos.reduce((a, v) => a + v.frames, 0);
  const [again, tCache] = await time(() => loadVideos(files, o));
  const [disk] = await time(() => loadVideos(files, { ...o, memoryBudget: 1 }));
  const per = async (videos: typeof first.videos) => {
    const s = new VideoWindowStream(videos, frames, 1, imageSize, new Rng(0));
    await s.nextBatch(batch);
    const k = 50;
    const [, t] = await time(async () => {
      for (let i = 0; i < k; i++) await s.nextBatch(batch);
    });
    return (t / k) * 1000;
  };
  const memMs = await per(again.videos);
  const diskMs = await per(disk.videos);
  console.log(`source ${sources}, ${files.length} files, ${n} frames → ${imageSize.join('×')}`);
  console.log(`first decode (ffmpeg, ${Math.min(2, files.length)} at a time): ${tDecode.toFixed(2)} s, ${Math.round(n / tDecode)} frames/s`);
  console.log(`cache read (.npy → memory):             ${tCache.toFixed(3)} s, ${Math.round(n / tCache)} frames/s`);
  console.log(`nextBatch ${batch}×${frames} frames from memory:      ${memMs.toFixed(2)} ms`);
  console.log(`nextBatch ${batch}×${frames} frames from the .npy:    ${diskMs.toFixed(2)} ms`);
  await closeVideos(disk.videos);
} finally {
  await rm(cacheDir, { recursive: true, force: true });
}
