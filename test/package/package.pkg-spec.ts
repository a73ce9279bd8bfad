/**
 * The published package, as a user gets it: `npm pack` of libs/session (built fresh, in a staging
 * copy so the working tree is untouched), installed from the tarball into a new Nest app in a
 * temporary folder outside the monorepo, with @nestjs/common/core/platform-express from the registry
 * (npm cache, --prefer-offline). Checks the tarball's files, that dist only imports what
 * package.json declares (optional peers only through dynamic import, never in type declarations),
 * that nothing of the monorepo leaks in, that the exports match the source barrel, that a strictly
 * typed app compiles with skipLibCheck off (CommonJS, as `nest new` generates, and ESM), and runs:
 * a visit counter on the memory store and on a private redis-server.
 *
 * Slow (about a minute): its own Jest project, `--selectProjects package`.
 */
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { Redis } from 'ioredis';
import { allKeysAndValues, redisClientFor, startRedisServer, type RedisServerHandle } from '../support/redis-server.js';

// npm, tsc and the app itself: far beyond the default 5 s (the project's testTimeout is not applied per project).
jest.setTimeout(180_000);

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const LIB = join(ROOT, 'libs/session');
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');
/** The app's registry packages, at the monorepo's versions (so the npm cache has them). */
const APP_PACKAGES = ['@nestjs/common', '@nestjs/core', '@nestjs/platform-express', 'reflect-metadata', 'rxjs', '@types/node'];

/** Children get a clean environment: no Jest VM-modules flag, no monorepo paths. */
const childEnv = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra, npm_config_fund: 'false', npm_config_audit: 'false' };
  delete env.NODE_OPTIONS;
  delete env.NODE_PATH;
  return env;
};

async function sh(file: string, args: string[], cwd: string, extra: Record<string, string> = {}): Promise<string> {
  try {
    const { stdout } = await run(file, args, { cwd, env: childEnv(extra), maxBuffer: 32 * 1024 * 1024, timeout: 180_000 });
    return stdout;
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${file} ${args.join(' ')} (in ${cwd}) failed: ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`);
  }
}

async function versionOf(name: string): Promise<string> {
  return (JSON.parse(await readFile(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

/** `@scope/name/sub.js` -> `@scope/name`, `name/sub` -> `name`; null for relative and node: imports. */
function packageOf(specifier: string): string | null {
  if (specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('node:')) return null;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

interface Manifest {
  name: string;
  dependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  exports: Record<string, unknown>;
}

/** The smoke app in `dir`, as a CommonJS or ES module package, with the `nest new` tsconfig made strict. */
async function compileSmokeApp(dir: string, type: 'commonjs' | 'module'): Promise<void> {
  await mkdir(join(dir, 'src'), { recursive: true });
  await writeFile(join(dir, 'package.json'), JSON.stringify({ name: `smoke-${type}`, private: true, type }, null, 2));
  const compilerOptions = {
    module: 'nodenext',
    moduleResolution: 'nodenext',
    resolvePackageJsonExports: true,
    esModuleInterop: true,
    isolatedModules: true,
    declaration: true,
    removeComments: true,
    emitDecoratorMetadata: true,
    experimentalDecorators: true,
    allowSyntheticDefaultImports: true,
    target: 'ES2023',
    types: ['node'],
    outDir: './dist',
    rootDir: './src',
    strict: true,
    strictPropertyInitialization: false,
    skipLibCheck: false,
  };
  await writeFile(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, include: ['src'] }, null, 2));
  await cp(fileURLToPath(new URL('./app/main.ts.txt', import.meta.url)), join(dir, 'src/main.ts'));
  await sh(process.execPath, [TSC, '-p', 'tsconfig.json'], dir);
}

let server: RedisServerHandle;
let redis: Redis;
let work: string;
let stage: string;
let app: string;
let manifest: Manifest;
let packed: { filename: string; files: Array<{ path: string }> };

beforeAll(async () => {
  server = await startRedisServer();
  redis = await redisClientFor(server);
  work = await mkdtemp(join(tmpdir(), 'nrs-package-'));
  expect(relative(ROOT, work).startsWith('..')).toBe(true);

  // A staging copy of libs/session (sources and tests included: `files` must keep them out).
  stage = join(work, 'session');
  await cp(LIB, stage, { recursive: true, filter: (src) => !/[/\\](dist|node_modules)$/.test(src) && !src.endsWith('.tgz') });
  await cp(join(ROOT, 'README.md'), join(stage, 'README.md')); // what the prepack script does in libs/session
  await sh(process.execPath, [TSC, '-p', join(LIB, 'tsconfig.lib.json'), '--outDir', join(stage, 'dist')], ROOT);
  const out = JSON.parse(await sh('npm', ['pack', '--json', '--pack-destination', work], stage)) as Array<typeof packed>;
  packed = out[0];
  manifest = JSON.parse(await readFile(join(stage, 'package.json'), 'utf8')) as Manifest;

  // A new app outside the monorepo, installing the tarball like any registry package.
  app = join(work, 'app');
  await mkdir(app);
  await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'smoke-app', version: '0.0.0', private: true }, null, 2));
  const pinned = await Promise.all(APP_PACKAGES.map(async (name) => `${name}@${await versionOf(name)}`));
  await sh('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', join(work, packed.filename), ...pinned], app);
}, 300_000);

afterAll(async () => {
  redis?.disconnect();
  await server?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('the npm package', () => {
  it('contains dist, package.json and README only: no sources, tests, specs or build info', () => {
    const paths = packed.files.map((f) => f.path).sort();
    expect(paths).toEqual(expect.arrayContaining(['package.json', 'README.md', 'dist/index.js', 'dist/index.d.ts']));
    expect(paths.filter((p) => !p.startsWith('dist/') && p !== 'package.json' && p !== 'README.md')).toEqual([]);
    expect(paths.filter((p) => /\.spec\.|(^|\/)test\/|\.tsbuildinfo$|\.ts$/.test(p) && !p.endsWith('.d.ts'))).toEqual([]);
    expect(paths.filter((p) => p.endsWith('.js')).every((p) => paths.includes(p.replace(/\.js$/, '.d.ts')))).toBe(true);
  });

  it('imports only declared packages; optional peers only dynamically, never in type declarations', async () => {
    const installed = join(app, 'node_modules', manifest.name, 'dist');
    const optional = new Set(Object.entries(manifest.peerDependenciesMeta ?? {}).filter(([, m]) => m.optional).map(([n]) => n));
    const required = new Set([...Object.keys(manifest.dependencies), ...Object.keys(manifest.peerDependencies).filter((n) => !optional.has(n))]);
    const problems: string[] = [];
    for (const file of await filesUnder(installed)) {
      const text = await readFile(file, 'utf8');
      const name = relative(installed, file);
      const statics = [...text.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s*['"]([^'"]+)['"]|(?:^|\n)\s*import\s*['"]([^'"]+)['"]/g)].map((m) => m[1] ?? m[2]);
      const dynamics = [...text.matchAll(/import\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1]);
      for (const spec of statics) {
        const pkg = packageOf(spec);
        if (pkg && !required.has(pkg)) problems.push(`${name}: static import of ${spec} (not a dependency or required peer)`);
      }
      for (const spec of dynamics) {
        const pkg = packageOf(spec);
        const allowed = file.endsWith('.d.ts') ? required : new Set([...required, ...optional]);
        if (pkg && !allowed.has(pkg)) problems.push(`${name}: import('${spec}') of an undeclared${file.endsWith('.d.ts') ? ' or optional' : ''} package`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('leaks nothing from the monorepo into the code: no @app/ paths, no absolute paths of this checkout', async () => {
    const leaks: string[] = [];
    const installed = join(app, 'node_modules', manifest.name);
    for (const file of [...(await filesUnder(join(installed, 'dist'))), join(installed, 'package.json')]) {
      const text = await readFile(file, 'utf8');
      for (const needle of ['@app/', ROOT.replace(/\/$/, ''), 'libs/session/src']) {
        if (text.includes(needle)) leaks.push(`${relative(app, file)} contains ${needle}`);
      }
    }
    expect(leaks).toEqual([]);
  });

  it('declares its peers and installs cleanly, without the optional integrations', async () => {
    expect(manifest.peerDependencies).toMatchObject({ '@nestjs/common': expect.any(String), '@nestjs/core': expect.any(String), '@opentelemetry/api': expect.any(String) });
    for (const optional of ['@nestjs/terminus', '@nestjs/event-emitter', '@nestjs/swagger']) {
      expect(manifest.peerDependenciesMeta?.[optional]).toEqual({ optional: true });
      await expect(readFile(join(app, 'node_modules', optional, 'package.json'))).rejects.toThrow();
    }
    // `npm ls` exits non-zero on a missing or invalid (required) peer.
    const tree = JSON.parse(await sh('npm', ['ls', '--json', '--depth=0'], app)) as { problems?: string[] };
    expect(tree.problems ?? []).toEqual([]);
  });

  it('exports the same names as the source barrel, to ESM and CommonJS (require of an ES module) alike', async () => {
    const expected = Object.keys(await import('@app/session')).sort();
    const esm = await sh(process.execPath, ['--input-type=module', '-e', `import * as m from '${manifest.name}'; console.log(JSON.stringify(Object.keys(m).sort()))`], app);
    expect(JSON.parse(esm)).toEqual(expected);
    const cjs = await sh(process.execPath, ['-e', `console.log(JSON.stringify(Object.keys(require('${manifest.name}')).filter((k) => k !== '__esModule' && k !== 'module.exports').sort()))`], app);
    expect(JSON.parse(cjs)).toEqual(expected);
  });

  it('compiles a strict app (skipLibCheck off) as CommonJS and as ESM, and runs both', async () => {
    // The two compilations run side by side: each takes tens of seconds (every .d.ts is checked).
    const flavours = ['commonjs', 'module'] as const;
    await Promise.all(flavours.map((type) => compileSmokeApp(join(app, type), type)));

    const up = { status: 'up' };
    for (const type of flavours) {
      const stdout = await sh(process.execPath, ['dist/main.js'], join(app, type), { REDIS_URL: server.url });
      expect({ type, lines: stdout.trim().split('\n') }).toEqual({
        type,
        lines: [
          `memory: ${JSON.stringify({ counts: [1, 2, 3], health: { session: up } })}`,
          `redis: ${JSON.stringify({ counts: [1, 2, 3], health: { session: up } })}`,
          'typed: session.expired idle function',
        ],
      });
      const keys = (await allKeysAndValues(redis)).map((e) => e.key).filter((k) => k.startsWith('pkg-smoke:'));
      expect(keys.length).toBeGreaterThan(0);
      await redis.del(...keys);
    }
  });
});
