/**
 * The layering rules, checked on the source: no import circle anywhere in lib/ and protocol/
 * (type-only imports count: they are circles for a reader too); protocol/ imports nothing from
 * lib/ nor node:net nor lmdb; only the LMDB store (lib/store/lmdb-*.ts) imports lmdb; the engine never
 * imports the server or DCP; only lib/tls/ imports node:tls; no file in lib/ or protocol/ is
 * over 400 lines.
 */
import t from 'tap';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');
const MAX_LINES = 400;

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...sources(p));
    else if (e.name.endsWith('.ts')) out.push(p);
  }
  return out;
}

const IMPORT = /^\s*(?:import|export)\s[^;]*?from\s+'([^']+)'/gms;

/** Every module a file imports (relative ones as repository paths, others as written). */
function importsOf(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(IMPORT)) {
    const spec = m[1];
    out.push(spec.startsWith('.') ? relative(ROOT, resolve(ROOT, dirname(file), spec)).replace(/\.js$/, '.ts') : spec);
  }
  return out;
}

const files = [...sources('lib'), ...sources('protocol')];
const graph = new Map(files.map((f) => [f, importsOf(f)]));

t.test('the import scan sees the imports it should', async (t) => {
  t.ok(files.length > 30, `${files.length} source files`);
  t.ok(graph.get('lib/server/connection.ts')?.includes('lib/server/dispatch.ts'), 'connection imports dispatch');
  t.ok(graph.get('lib/store/lmdb-store.ts')?.includes('lmdb'), 'the LMDB store imports lmdb');
  t.ok(graph.get('lib/server/handlers/update.ts')?.includes('lib/server/handler-context.ts'), 'type-only imports are seen');
});

t.test('no import circle in lib/ and protocol/', async (t) => {
  const state = new Map<string, 'open' | 'done'>();
  const circles: string[] = [];
  const visit = (f: string, path: string[]): void => {
    if (state.get(f) === 'done') return;
    if (state.get(f) === 'open') {
      circles.push([...path.slice(path.indexOf(f)), f].join(' -> '));
      return;
    }
    state.set(f, 'open');
    for (const dep of graph.get(f) ?? []) if (graph.has(dep)) visit(dep, [...path, f]);
    state.set(f, 'done');
  };
  for (const f of files) visit(f, []);
  t.same(circles, [], 'import circles');
});

t.test('protocol/ is bytes only', async (t) => {
  for (const f of files.filter((x) => x.startsWith('protocol/'))) {
    const bad = (graph.get(f) ?? []).filter((d) => d.startsWith('lib/') || d === 'lmdb' || d === 'node:net' || d === 'net');
    t.same(bad, [], `${f} imports nothing from lib/, lmdb or the network`);
  }
});

t.test('only the LMDB store imports lmdb; the engine imports neither server nor DCP', async (t) => {
  const lmdbUsers = files.filter((f) => graph.get(f)?.includes('lmdb'));
  t.same(lmdbUsers, ['lib/store/lmdb-databases.ts', 'lib/store/lmdb-store.ts']);
  for (const f of files.filter((x) => x.startsWith('lib/engine/') || x.startsWith('lib/store/'))) {
    const bad = (graph.get(f) ?? []).filter((d) => d.startsWith('lib/server/') || d.startsWith('lib/dcp/'));
    t.same(bad, [], `${f} does not reach up into the server or DCP`);
  }
  for (const f of files.filter((x) => x.startsWith('lib/store/'))) {
    const bad = (graph.get(f) ?? []).filter((d) => d.startsWith('lib/') && !d.startsWith('lib/store/'));
    t.same(bad, [], `${f} depends on no other part of lib/`);
  }
});

t.test('TLS lives in lib/tls/ alone', async (t) => {
  const tlsUsers = files.filter((f) => graph.get(f)?.some((d) => d === 'node:tls' || d === 'tls'));
  t.ok(tlsUsers.length > 0, 'something uses node:tls');
  t.same(tlsUsers.filter((f) => !f.startsWith('lib/tls/')), [], 'only lib/tls/ imports node:tls');
});

t.test(`no file over ${MAX_LINES} lines`, async (t) => {
  for (const f of files) {
    const lines = readFileSync(join(ROOT, f), 'utf8').split('\n').length - 1;
    t.ok(lines <= MAX_LINES, `${f}: ${lines} lines`);
  }
});
