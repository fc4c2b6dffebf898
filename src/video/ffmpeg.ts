/**
 * The video API, the only place that talks to ffmpeg/ffprobe (through fluent-ffmpeg, set up in
 * ./command.ts with the binaries of src/runtime/ffmpeg-paths.ts). One module per job:
 * - ./probe.ts: probeVideo — size as displayed, fps, frame count, rotation, duration, codec; clear UserErrors;
 * - ./decode.ts: decodeFrames / decodeGray — raw gray or RGB frames of the requested size through a pipe; the fit filters;
 * - ./encode.ts: encodeFrames — mp4 / gif / png (tiled), atomic (temp file + rename); output checks.
 * Beside them (imported directly): ./inputs.ts (files, directories, globs → video files), ./dataset.ts (a dataset of
 * your own videos: decode once, cache, windows, held-out files), ./samples.ts (synthetic clips from ffmpeg sources).
 */
export { probeVideo, VIDEO_EXTENSIONS, type VideoProbe } from './probe.js';
export { decodeFilters, decodeFrames, decodeGray, FIT_MODES, pixelFormat, type DecodeOptions, type FitMode, type FrameChannels } from './decode.js';
export { checkWritableOutput, encodeFrames, VIDEO_FORMATS, type EncodeOptions, type VideoFormat } from './encode.js';
