/**
 * The library API: what a program using crevnet needs, by task. Everything else (conv
 * implementations, prepared filters, couplings, the worker pool's protocol, runtime kernels,
 * benchmarks, report rendering) is internal and may change; the CLI imports those modules directly.
 */

// Backend and errors: call initBackend once before anything that runs the model, and shutdownBackend
// when done (it releases a WebGPU device; a no-op on the other backends).
export { initBackend, backendInfo, shutdownBackend, parseBackendChoice, BACKEND_CHOICES, type BackendChoice, type BackendInfo, type BackendAttempt } from './runtime/backend.js';
export { CrevnetError, UserError, InternalError } from './runtime/errors.js';

// Configs.
export { parseConfig, configToJson, type ModelConfig, type ConfigFile } from './model/config.js';
export { loadConfig, BUILTIN_CONFIGS, type BuiltinConfigName } from './model/config-file.js';
export type { TrainConfig, ScheduleConfig } from './train/config.js';

// The model, its checkpoints and the bundled models.
export { CrevNet, paramCountsFor, lossOptions, type LossMode, type LossOptions, type NamedWeight, type ParamCounts } from './model/crevnet.js';
export type { RolloutOptions } from './model/crevnet-predict.js';
export { loadCheckpoint, saveCheckpoint, isCheckpoint, type CheckpointContents, type LoadedCheckpoint, type NamedTensor } from './model/checkpoint.js';
export { DEFAULT_MODEL_NAME, bundledModelNames, bundledModelsDir, defaultModelDir, resolveModelDir, type ResolvedModel } from './model/pretrained.js';

// Predict frames or videos.
export {
  predictVideo,
  loadClip,
  inferClip,
  writePrediction,
  DEFAULT_CONTEXT,
  DEFAULT_HORIZON,
  type Clip,
  type ClipPrediction,
  type PerFrameScores,
  type PredictOptions,
  type PredictResult,
} from './predict/predict.js';
export { expandInputs, planOutputs, predictBatch, isFailure, type BatchFailure, type BatchOptions, type BatchResult, type OutputPlan } from './predict/batch.js';

// Train.
export {
  train,
  NonFiniteLossError,
  type TrainOptions,
  type TrainData,
  type TrainOverrides,
  type TrainHooks,
  type TrainResult,
  type StepRecord,
  type ValidationRecord,
} from './train/trainer.js';
export type { TrainProgress, ProgressStep } from './train/progress.js';
export type { WorkersSetting } from './run/parallel.js';

// Evaluate and score.
export { evaluate, type EvalOptions, type EvalResult, type EvalPredictor } from './eval/evaluate.js';
export { formatEvalTable, type EvalReport } from './eval/report.js';
export { NpySequenceSource, GeneratedSequenceSource, ArraySequenceSource, openVideoSequenceSource, type SequenceSource } from './eval/sources.js';
export { mse, mae, psnr, ssim, ssimMulti, frameScores, MetricsAccumulator, SSIM_WINDOW, type FrameScores, type MetricsReport } from './eval/metrics.js';

// Datasets: Moving MNIST, MNIST idx files, .npy files, pixels.
export { generateSequences, MovingMnistStream, MOVING_MNIST_DEFAULTS, type MovingMnistOptions } from './data/moving-mnist.js';
export { loadMnistDigits, readIdxImages, parseIdxImages, type DigitSet, type MnistSplit } from './data/idx.js';
export { readNpy, writeNpy, NpyFile, NpyWriter, readTimeMajorBatch, writeTimeMajorBatch, type NpyArray, type NpyDtype } from './data/npy.js';
export { Rng, type RngState } from './data/rng.js';
export { uint8ToFloat, floatToUint8 } from './data/pixels.js';

// Video files (8-bit gray or RGB frames), datasets of your own videos, synthetic sample clips.
export {
  probeVideo,
  decodeGray,
  decodeFrames,
  encodeFrames,
  VIDEO_FORMATS,
  FIT_MODES,
  type VideoProbe,
  type DecodeOptions,
  type EncodeOptions,
  type FitMode,
  type FrameChannels,
  type VideoFormat,
} from './video/ffmpeg.js';
export { openVideoData, splitFiles, VideoWindowStream, type OpenVideoDataOptions, type VideoData, type DecodedVideo } from './video/dataset.js';
export { makeSampleVideos, SAMPLE_KINDS, type SampleKind, type SampleOptions } from './video/samples.js';
export { datasetRecordOf, describeDataset, type DatasetRecord } from './data/dataset-record.js';
