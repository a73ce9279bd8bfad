// Transpiles the benchmark, the library source and the Redis test helpers to bench/.build/ with
// swc (the same settings as the Jest transform), so `npm run bench` needs no prior build and always
// measures the current library source. Type checking is `npm run typecheck` (tsconfig includes bench/).
import { transformFile } from '@swc/core';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'bench', '.build');
const sources = ['bench', 'libs/session/src', 'test/support'];

async function* tsFiles(dir) {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== '.build' && entry.name !== 'node_modules') yield* tsFiles(path);
    } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts') && !entry.name.endsWith('.d.ts')) {
      yield path;
    }
  }
}

const options = {
  jsc: {
    parser: { syntax: 'typescript', decorators: true },
    transform: { legacyDecorator: true, decoratorMetadata: true },
    keepClassNames: true,
    target: 'es2022',
  },
  module: { type: 'es6' },
  sourceMaps: false,
};

await rm(out, { recursive: true, force: true });
let count = 0;
for (const dir of sources) {
  for await (const file of tsFiles(join(root, dir))) {
    const { code } = await transformFile(file, options);
    const target = join(out, relative(root, file)).replace(/\.ts$/, '.js');
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, code);
    count++;
  }
}
process.stdout.write(`bench: transpiled ${count} files to ${relative(root, out)}/\n`);
