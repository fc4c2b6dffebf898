/**
 * Loading optional packages (the tfjs backends, Dawn). A variable module name keeps tsc and esbuild
 * from resolving a package that may be absent; the single-file bundle (scripts/bundle.mjs) imports
 * them statically instead and hands them over with `provideOptionalModule`.
 */
const provided = new Map<string, unknown>();

export function provideOptionalModule(name: string, mod: unknown): void {
  provided.set(name, mod);
}

/** import(spec), or the module the bundle provided; "X is not installed (hint)" when it is absent. */
export async function importOptional<T>(spec: string, hint: string): Promise<T> {
  if (provided.has(spec)) return provided.get(spec) as T;
  const name: string = spec;
  try {
    return (await import(name)) as T;
  } catch (err) {
    const code = (err as { code?: string }).code;
    if ((code === 'MODULE_NOT_FOUND' || code === 'ERR_MODULE_NOT_FOUND') && String((err as Error).message).includes(spec)) {
      throw new Error(`${spec} is not installed (${hint})`);
    }
    throw err;
  }
}
