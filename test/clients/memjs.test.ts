/**
 * memjs, unchanged, against a real lmcached process: every operation memjs offers.
 * (memjs 1.3 has no CAS or multi-get; pylibmc covers those.)
 */
import { createRequire } from 'node:module';
import t from 'tap';
import { ACK_MODES, serverFor } from '../fixtures/harness.js';

interface MemjsGet {
  value: Buffer | null;
  flags: Buffer | null;
}

interface MemjsClient {
  get(key: string): Promise<MemjsGet>;
  set(key: string, value: string, opts?: { expires?: number }): Promise<boolean>;
  add(key: string, value: string, opts?: { expires?: number }): Promise<boolean>;
  replace(key: string, value: string, opts?: { expires?: number }): Promise<boolean>;
  delete(key: string): Promise<boolean>;
  increment(key: string, amount: number, opts?: { initial?: number; expires?: number }): Promise<{ success: boolean; value: number | null }>;
  decrement(key: string, amount: number, opts?: { initial?: number; expires?: number }): Promise<{ success: boolean; value: number | null }>;
  append(key: string, value: string): Promise<boolean>;
  prepend(key: string, value: string): Promise<boolean>;
  touch(key: string, expires: number): Promise<boolean>;
  flush(): Promise<Record<string, boolean>>;
  stats(cb: (err: Error | null, server: string, stats: Record<string, string>) => void): void;
  close(): void;
}

// memjs ships no types: load it with require and give it the slice of its API we use.
const memjs = createRequire(import.meta.url)('memjs') as { Client: { create(servers: string, opts: object): MemjsClient } };
const create = memjs.Client.create;

for (const mode of ACK_MODES) {
  t.test(`memjs against lmcached (--ack=${mode})`, async (t) => {
    const server = await serverFor(t, { args: ['--ack', mode] });
    const mc = create(`127.0.0.1:${server.port}`, { retries: 0, logger: { log: () => {} } });
    t.teardown(() => mc.close());

    t.equal(await mc.set('k', 'v1'), true, 'set');
    t.equal((await mc.get('k')).value?.toString(), 'v1', 'get');
    t.equal((await mc.get('missing')).value, null, 'get miss');
    t.equal(await mc.add('k', 'x'), false, 'add existing fails');
    t.equal(await mc.add('k2', 'a'), true, 'add new');
    t.equal(await mc.replace('k2', 'b'), true, 'replace');
    t.equal(await mc.replace('nope', 'b'), false, 'replace missing fails');
    t.equal((await mc.get('k2')).value?.toString(), 'b');
    t.equal(await mc.append('k2', 'c'), true, 'append');
    t.equal((await mc.get('k2')).value?.toString(), 'bc');
    t.equal(await mc.prepend('k2', 'a'), true, 'prepend');
    // memjs 1.3.2's prepend sends opcode 0x0e (APPEND), so the server rightly appends.
    t.equal((await mc.get('k2')).value?.toString(), 'bca', 'what memjs asked for (an append) happened');
    const inc = await mc.increment('n', 5, { initial: 10 });
    t.equal(inc.value, 10, 'increment creates with initial');
    t.equal((await mc.increment('n', 5, {})).value, 15, 'increment');
    t.equal((await mc.decrement('n', 20, {})).value, 0, 'decrement floors at 0');
    t.equal(await mc.delete('k'), true, 'delete');
    t.equal(await mc.delete('k'), false, 'delete missing');
    t.equal((await mc.get('k')).value, null);
    await mc.set('t', 'x', { expires: 1 });
    t.equal(await mc.touch('t', 3600), true, 'touch');
    t.equal(await mc.touch('missing', 10), false, 'touch missing');
    await new Promise((r) => setTimeout(r, 2100));
    t.equal((await mc.get('t')).value?.toString(), 'x', 'touch extended the TTL');
    const stats = await new Promise<Record<string, string>>((res, rej) => mc.stats((err, _s, st) => (err ? rej(err) : res(st))));
    t.ok(Number(stats.cmd_get) > 0, 'stats');
    const flushed = await mc.flush();
    t.ok(Object.values(flushed).every(Boolean), 'flush');
    t.equal((await mc.get('k2')).value, null, 'flushed');
  });
}
