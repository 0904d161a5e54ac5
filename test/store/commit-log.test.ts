/**
 * The commit log on real files: frames come back in order and intact; a torn last frame (a
 * crash inside an append) and a damaged frame stop the replay there, with the bytes after it
 * reported; appends continue after the last good frame; a file that is not a commit log is
 * refused; and on a disk that fills up (a small tmpfs) a failed append leaves no torn frame,
 * so the log takes appends again once there is room.
 */
import t, { type Test } from 'tap';
import { mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommitLog, replayCommitLog } from '../../lib/store/commit-log.js';
import { mountTmpfs } from '../fixtures/small-fs.js';
import { DataFormatError } from '../../lib/store/store.js';

function tempLog(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'lmcached-commit-log-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'commit.log');
}

/** Payloads of several sizes, each filled with its own index. */
function payloads(n: number): Buffer[] {
  return Array.from({ length: n }, (_, i) => Buffer.alloc(1 + ((i * 7919) % 70_000), i & 0xff));
}

function replayAll(path: string): { got: Buffer[]; result: ReturnType<typeof replayCommitLog> } {
  const got: Buffer[] = [];
  const result = replayCommitLog(path, (p) => got.push(Buffer.from(p)));
  return { got, result };
}

t.test('frames come back in append order, byte for byte', async (t) => {
  const path = tempLog(t);
  const want = payloads(40);
  const log = CommitLog.open(path);
  for (const p of want) log.append(p);
  // A length shorter than the buffer appends only that much (a reused batch buffer).
  const reused = Buffer.alloc(1000, 0x5a);
  log.append(reused, 10);
  log.sync();
  log.close();
  const { got, result } = replayAll(path);
  t.equal(result.frames, 41);
  t.equal(result.discardedBytes, 0);
  t.equal(result.validBytes, statSync(path).size);
  t.same(got.slice(0, 40), want, 'every payload intact and in order');
  t.same(got[40], reused.subarray(0, 10), 'only the given length was appended');
});

t.test('a torn last frame stops the replay; appends continue after the last good frame', async (t) => {
  const path = tempLog(t);
  const want = payloads(5);
  const log = CommitLog.open(path);
  for (const p of want) log.append(p);
  log.close();
  const whole = statSync(path).size;
  // A crash inside the last append: only part of its payload reached the file.
  truncateSync(path, whole - 3);
  const { got, result } = replayAll(path);
  t.equal(result.frames, 4);
  t.same(got, want.slice(0, 4));
  t.equal(result.discardedBytes, whole - 3 - result.validBytes, 'the torn bytes are reported');
  t.ok(result.discardedBytes > 0);
  t.equal(result.damaged, false, 'a frame cut short at the end is a torn append, not damage');

  const again = CommitLog.open(path, result.validBytes);
  again.append(Buffer.from('after the crash'));
  again.close();
  const after = replayAll(path);
  t.equal(after.result.discardedBytes, 0, 'the torn frame is gone');
  t.same(after.got, [...want.slice(0, 4), Buffer.from('after the crash')]);
});

t.test('a torn frame header (fewer than 8 bytes) is a torn tail too', async (t) => {
  const path = tempLog(t);
  const log = CommitLog.open(path);
  log.append(Buffer.from('one'));
  log.close();
  const size = statSync(path).size;
  writeFileSync(path, Buffer.from([0, 0, 0]), { flag: 'a' });
  const { got, result } = replayAll(path);
  t.same(got, [Buffer.from('one')]);
  t.equal(result.validBytes, size);
  t.equal(result.discardedBytes, 3);
  t.equal(result.damaged, false);
});

t.test('a whole last frame that fails its check, with nothing after it, is a torn append too', async (t) => {
  // After a power loss the file may keep its new length with zeros where the append was.
  const path = tempLog(t);
  const log = CommitLog.open(path);
  log.append(Buffer.from('kept'));
  log.append(Buffer.from('zeroed by the crash'));
  log.close();
  const bytes = readFileSync(path);
  bytes.fill(0, bytes.length - 'zeroed by the crash'.length);
  writeFileSync(path, bytes);
  const { got, result } = replayAll(path);
  t.same(got, [Buffer.from('kept')]);
  t.equal(result.damaged, false);
});

t.test('a damaged frame stops the replay there, whatever follows it', async (t) => {
  const path = tempLog(t);
  const want = payloads(6);
  const log = CommitLog.open(path);
  for (const p of want) log.append(p);
  log.close();
  const bytes = readFileSync(path);
  // One flipped bit in the third payload (8-byte file header, 8-byte frame headers).
  const third = 8 + (8 + want[0].length) + (8 + want[1].length) + 8;
  bytes[third + 1] ^= 0x10;
  writeFileSync(path, bytes);
  const { got, result } = replayAll(path);
  t.equal(result.frames, 2, 'the frames before the damage');
  t.same(got, want.slice(0, 2));
  t.equal(result.validBytes, third - 8);
  t.equal(result.discardedBytes, bytes.length - result.validBytes, 'the damaged frame and all after it are reported');
  t.equal(result.damaged, true, 'good frames after a bad one: damage, not a torn append');

  // A length field damaged into a huge value is caught without reading past the file.
  const lengthAt = 8;
  const hugeLength = readFileSync(path);
  hugeLength.writeUInt32BE(0xfffffff0, lengthAt);
  writeFileSync(path, hugeLength);
  t.equal(replayAll(path).result.frames, 0);
  t.equal(replayAll(path).result.damaged, true);
});

t.test('truncate empties the log and appends go on', async (t) => {
  const path = tempLog(t);
  const log = CommitLog.open(path);
  for (const p of payloads(3)) log.append(p);
  log.truncate();
  t.equal(replayAll(path).result.frames, 0);
  log.append(Buffer.from('fresh'));
  log.close();
  t.same(replayAll(path).got, [Buffer.from('fresh')]);
  t.equal(CommitLog.open(path).bytes, statSync(path).size, 'a reopened log appends at its end');
});

t.test('a file that is not a commit log of this format is refused, not read', async (t) => {
  const path = tempLog(t);
  writeFileSync(path, Buffer.from('this is not a commit log at all'));
  t.throws(() => CommitLog.open(path), DataFormatError);
  t.throws(() => replayCommitLog(path, () => t.fail('no frame')), DataFormatError);
  const log = CommitLog.open(tempLog(t));
  log.close();
  const other = tempLog(t);
  const header = Buffer.from([0x4c, 0x4d, 0x43, 0x4c, 0, 0, 0, 9]);
  writeFileSync(other, header);
  t.throws(() => CommitLog.open(other), /format 9/);
  t.same(readFileSync(other), header, 'a refused file is left as it was');
});

t.test('on a full disk a failed append leaves no torn frame, and appends resume once there is room', async (t) => {
  const dir = mountTmpfs(t, 2);
  if (dir === null) return;
  const filler = join(dir, 'filler');
  writeFileSync(filler, Buffer.alloc(1024 * 1024, 1));
  const path = join(dir, 'commit.log');
  const log = CommitLog.open(path);
  const frame = Buffer.alloc(100_000, 7);
  let appended = 0;
  let failure: unknown = null;
  for (let i = 0; i < 100 && failure === null; i++) {
    try {
      log.append(frame);
      appended++;
    } catch (err) {
      failure = err;
    }
  }
  t.ok(failure !== null, `the disk filled up after ${appended} appends`);
  t.equal((failure as NodeJS.ErrnoException).code, 'ENOSPC');
  t.equal(statSync(path).size, log.bytes, 'the file ends at the last whole frame');
  const before = replayAll(path);
  t.equal(before.result.frames, appended);
  t.equal(before.result.discardedBytes, 0, 'no torn frame left behind');

  rmSync(filler);
  log.append(Buffer.from('room again'));
  log.sync();
  log.close();
  const after = replayAll(path);
  t.equal(after.result.frames, appended + 1);
  t.same(after.got[appended], Buffer.from('room again'));
});
