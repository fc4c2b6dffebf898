/**
 * `crevnet bench --all-backends`: the backends the same measurements are repeated on (each measurement in
 * a child process started with `--backend NAME`, see suite.ts; a process has one tfjs engine and the
 * wasm/native backends cannot be unloaded), one after the other so they do not compete for the cores.
 * webgpu takes whatever adapter there is, a software one included (its numbers then show correctness, not speed).
 */
export const ALL_BACKENDS = ['tensorflow', 'webgpu', 'native', 'wasm', 'cpu'] as const;
