/**
 * The local server behind `crevnet serve`: the built browser app (dist/web), the models it may load and
 * the sample videos, over node:http. Read-only, GET and HEAD only, bound to 127.0.0.1 unless told
 * otherwise. Routes:
 *   /                       the app (index.html and its bundle, from the app directory)
 *   /api/info               { defaultModel, models: [{ name, label, imageSize, description, bytes }], samples }
 *   /models/NAME/FILE       a model's manifest.json, config.json, model.json, weights.bin
 *   /samples/FILE           the sample videos (datasets/samples)
 */
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, extname, join } from 'node:path';
import { bundledModelNames, DEFAULT_MODEL_NAME, packageRoot, resolveModelDir } from '../model/pretrained.js';
import { checkManifest, MANIFEST, MODEL_FILES, parseJsonBytes, type Manifest } from '../model/checkpoint-files.js';
import { parseConfig } from '../model/config.js';
import { UserError } from '../runtime/errors.js';
import { VIDEO_EXTENSIONS } from '../video/probe.js';
import { resolveUnder, sendFile, sendJson, sendText } from './static.js';

/** The files of a model the browser fetches (the manifest, to check the others). */
const SERVED_MODEL_FILES: readonly string[] = [MANIFEST, ...MODEL_FILES];

export interface ServedModel {
  /** the name in URLs and in the page's model list */
  name: string;
  dir: string;
  /** how the CLI would name it: a bundled model's path in the package, or the --model argument */
  label: string;
  imageSize: [number, number, number];
  description?: string;
  /** bytes the browser downloads (config, weights manifest, weights, manifest) */
  bytes: number;
}

export interface ServerOptions {
  port: number;
  host: string;
  /** the built app: index.html, app.js, worker.js, *.wasm */
  appDir: string;
  samplesDir: string;
  models: ServedModel[];
  defaultModel: string;
}

export interface RunningServer {
  url: string;
  port: number;
  server: Server;
  close(): Promise<void>;
}

/** dist/web of the package (built by `npm run build`). */
export function defaultAppDir(): string {
  return join(packageRoot(), 'dist', 'web');
}

export function defaultSamplesDir(): string {
  return join(packageRoot(), 'datasets', 'samples');
}

function readModel(name: string, dir: string, label: string): ServedModel {
  const what = `model ${label}`;
  const read = (file: string): Uint8Array => {
    try {
      return readFileSync(join(dir, file));
    } catch {
      throw new UserError(`${what}: cannot read ${file}`);
    }
  };
  const manifestBytes = read(MANIFEST);
  const manifest = checkManifest(parseJsonBytes<Manifest>(manifestBytes, MANIFEST, what), what);
  const config = parseConfig(parseJsonBytes(read('config.json'), 'config.json', what), `${what}: config.json`);
  const bytes = manifestBytes.byteLength + MODEL_FILES.reduce((s, f) => s + manifest.files[f]!.bytes, 0);
  const m: ServedModel = { name, dir, label, imageSize: config.imageSize, bytes };
  if (config.description !== undefined) m.description = config.description;
  return m;
}

/**
 * The bundled models, plus the one `--model` names (a bundled name, a checkpoint or a run directory)
 * which becomes the page's default; without it the CLI's default model is.
 */
export function servedModels(spec?: string): { models: ServedModel[]; defaultModel: string } {
  const models = bundledModelNames().map((n) => {
    const r = resolveModelDir(n);
    return readModel(n, r.dir, r.label);
  });
  if (spec === undefined || spec === '' || spec === 'default') {
    const fallback = models.find((m) => m.name === DEFAULT_MODEL_NAME) ?? models[0];
    if (!fallback) throw new UserError('no bundled model found (outputs/pretrained is empty); pass --model DIR');
    return { models, defaultModel: fallback.name };
  }
  const r = resolveModelDir(spec);
  const same = models.find((m) => m.dir === r.dir);
  if (same) return { models, defaultModel: same.name };
  // a name for URLs: the directory's name (the run's name for RUN/best), unique among the served ones
  const base = (basename(r.dir) === 'best' || basename(r.dir) === 'last' ? basename(join(r.dir, '..')) : basename(r.dir)).replace(/[^\w.-]/g, '_') || 'model';
  let name = base;
  for (let i = 2; models.some((m) => m.name === name); i++) name = `${base}-${i}`;
  const m = readModel(name, r.dir, r.label);
  return { models: [m, ...models], defaultModel: name };
}

function sampleNames(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const video = new Set<string>(VIDEO_EXTENSIONS);
  return readdirSync(dir)
    .filter((f) => !f.startsWith('.') && video.has(extname(f).slice(1).toLowerCase()))
    .sort();
}

const SECURITY_HEADERS: Record<string, string> = {
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  // the app loads only its own files; blob: for the user's video and the downloads; wasm needs wasm-unsafe-eval
  'Content-Security-Policy':
    "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; img-src 'self' blob: data:; media-src 'self' blob:; style-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
};

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

/**
 * Bound to a loopback address, answer only requests addressed to one: a web page elsewhere cannot
 * reach the server through a DNS name that resolves to 127.0.0.1 (DNS rebinding).
 */
function hostAllowed(req: IncomingMessage, boundHost: string): boolean {
  if (!LOOPBACK.has(boundHost)) return true;
  const host = (req.headers.host ?? '').toLowerCase();
  const name = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.split(':')[0]!;
  return LOOPBACK.has(name);
}

export function createHandler(o: ServerOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const info = {
    defaultModel: o.defaultModel,
    models: o.models.map(({ name, label, imageSize, description, bytes }) => ({ name, label, imageSize, description, bytes })),
    samples: sampleNames(o.samplesDir),
  };
  const byName = new Map(o.models.map((m) => [m.name, m]));
  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
    if (!hostAllowed(req, o.host)) return sendText(res, 403, 'forbidden: unexpected Host header\n');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return sendText(res, 405, 'method not allowed\n');
    }
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path === '/api/info') return sendJson(res, info);
    const model = /^\/models\/([^/]+)\/([^/]+)$/.exec(path);
    if (model) {
      const m = byName.get(decodeURIComponent(model[1]!));
      const file = decodeURIComponent(model[2]!);
      if (!m || !SERVED_MODEL_FILES.includes(file)) return sendText(res, 404, 'not found\n');
      return sendFile(req, res, join(m.dir, file));
    }
    if (path.startsWith('/samples/')) {
      const file = await resolveUnder(o.samplesDir, path.slice('/samples/'.length));
      return file ? sendFile(req, res, file) : sendText(res, 404, 'not found\n');
    }
    const file = await resolveUnder(o.appDir, path === '/' ? 'index.html' : path);
    return file ? sendFile(req, res, file) : sendText(res, 404, 'not found\n');
  };
  return (req, res) => {
    route(req, res).catch(() => {
      if (!res.headersSent) sendText(res, 500, 'internal error\n');
      else res.destroy();
    });
  };
}

function listenError(err: NodeJS.ErrnoException, o: ServerOptions): UserError {
  switch (err.code) {
    case 'EADDRINUSE':
      return new UserError(`port ${o.port} on ${o.host} is already in use; choose another with --port`);
    case 'EACCES':
      return new UserError(`no permission to listen on port ${o.port} (ports below 1024 need privileges); choose another with --port`);
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new UserError(`--host ${o.host} is not an address of this machine`);
    default:
      return new UserError(`cannot listen on ${o.host}:${o.port} (${err.code ?? err.message})`);
  }
}

/** The address as a URL a browser can open. */
export function serverUrl(host: string, port: number): string {
  const h = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return `http://${h}:${port}/`;
}

/** Check the app directory, then listen; resolves once the port is bound. */
export async function startServer(o: ServerOptions): Promise<RunningServer> {
  if (!existsSync(join(o.appDir, 'index.html'))) {
    throw new UserError(`the web app is not built (no ${join(o.appDir, 'index.html')}); run \`npm run build\``);
  }
  const server = createServer(createHandler(o));
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(listenError(err, o)));
    server.listen(o.port, o.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: serverUrl(o.host, port),
    port,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
