// The production build holds only what production runs: src/ never reaches into test/, tools/ or bench/,
// and what `npm run build` emits comes from src/ alone, with no console and no fake in it.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const srcDir = join(repoRoot, 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** Every module specifier a file imports or re-exports, static or dynamic. */
function specifiers(text: string): string[] {
  const found: string[] = [];
  for (const match of text.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|\bimport\s+)['"]([^'"]+)['"]/g)) found.push(match[1] ?? '');
  return found;
}

describe('layout', () => {
  it('src/console no longer exists: the console lives in tools/console and its fakes in test/fakes', () => {
    expect(existsSync(join(srcDir, 'console'))).toBe(false);
    expect(existsSync(join(repoRoot, 'tools', 'console', 'main.ts'))).toBe(true);
    expect(existsSync(join(repoRoot, 'test', 'fakes', 'fake-slack.ts'))).toBe(true);
  });

  it('no file under src/ imports from test/, tools/ or bench/', () => {
    const outside = ['test', 'tools', 'bench'].map((dir) => join(repoRoot, dir) + sep);
    const offenders: string[] = [];
    for (const file of sourceFiles(srcDir)) {
      for (const spec of specifiers(readFileSync(file, 'utf8'))) {
        if (!spec.startsWith('.')) continue;
        const target = resolve(file, '..', spec);
        if (outside.some((dir) => target.startsWith(dir))) offenders.push(`${relative(repoRoot, file)} → ${spec}`);
      }
    }
    expect(offenders).toEqual([]);
  });

  it('the specifier scan sees the imports it must refuse', () => {
    // Guards the test above: a scan that matched nothing would pass with any import in src/.
    expect(specifiers(`import { a } from '../../test/fakes/fake-slack.js';\nexport * from "../tools/x.js";\nawait import('../bench/lib.js');`)).toEqual([
      '../../test/fakes/fake-slack.js',
      '../tools/x.js',
      '../bench/lib.js',
    ]);
  });

  it('the build (tsconfig.build.json) emits only files from src/, none from the console or the fakes', { timeout: 180_000 }, async () => {
    const outDir = mkdtempSync(join(tmpdir(), 'dbaccess-build-'));
    try {
      const tsc = join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');
      const { stdout } = await promisify(execFile)(process.execPath, [tsc, '-p', join(repoRoot, 'tsconfig.build.json'), '--outDir', outDir, '--listEmittedFiles'], {
        cwd: repoRoot,
        maxBuffer: 16 * 1024 * 1024,
      });
      const emitted = stdout
        .split('\n')
        .filter((line) => line.startsWith('TSFILE: '))
        .map((line) => relative(outDir, line.slice('TSFILE: '.length).trim()));
      expect(emitted).toContain('main.js');
      expect(emitted.filter((file) => /(^|\/)(console|fakes?|tools|test|bench)(\/|$)|fake-|slack-driver|tds-server/.test(file))).toEqual([]);
      // rootDir is src: a file from outside it would land under '..' or fail the build.
      expect(emitted.filter((file) => file.startsWith('..'))).toEqual([]);
    } finally {
      rmSync(outDir, { recursive: true, force: true });
    }
  });
});
