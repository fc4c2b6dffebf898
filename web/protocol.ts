/** Messages between the page (main.ts) and the inference worker (worker.ts). */

export const BACKENDS = ['webgpu', 'webgl', 'wasm'] as const;
export type Backend = (typeof BACKENDS)[number];
export type BackendChoice = 'auto' | Backend;

export interface BackendAttempt {
  backend: Backend;
  ok: boolean;
  reason?: string;
}

export type ToWorker =
  | { type: 'init'; backend: BackendChoice }
  | {
      type: 'predict';
      id: number;
      /** /models/NAME/ */
      modelUrl: string;
      modelName: string;
      /** K context frames, W·H bytes each */
      context: Uint8Array[];
      width: number;
      height: number;
      horizon: number;
    };

export type FromWorker =
  | { type: 'ready'; backend: Backend; attempts: BackendAttempt[] }
  | { type: 'init-failed'; attempts: BackendAttempt[] }
  | { type: 'progress'; id: number; stage: 'model' | 'predict'; done: number; total: number }
  | {
      type: 'result';
      id: number;
      /** horizon·H·W floats in [0, 1], time-major */
      frames: Float32Array;
      backend: Backend;
      /** seconds: fetching and building the model (0 when cached), the rollout incl. reading back */
      loadSeconds: number;
      predictSeconds: number;
      /** live tensors before and after the rollout (equal unless something leaked) */
      tensorsBefore: number;
      tensorsAfter: number;
    }
  | { type: 'error'; id: number; message: string };
