/**
 * `lmcached passwd USER`: writes a salted entry (SCRAM keys, no password) for a user database
 * read by -S (--sasl-pwdb) and -Y. The password comes from the terminal (asked twice, not
 * echoed) or, when stdin is not a terminal, from its first line. With --file the user's line
 * is replaced or added in place (the file is rewritten whole and renamed over, so a reader
 * never sees half of it); without, the entry is printed.
 */
import { chmodSync, existsSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { saltedEntry } from './server/password-file.js';
import { SCRAM_ITERATIONS } from './server/scram.js';

export const PASSWD_HELP = `Usage: lmcached passwd [options] USER
Write a salted password entry for USER (SCRAM-SHA-256 and SCRAM-SHA-512 keys: the file does
not hold the password) for the users file of -S (--sasl-pwdb) or -Y (--auth-file). The
password is asked on the terminal, or read from the first line of stdin. Send the server
SIGHUP to reload the file.

  --file <file>        replace or add USER's line in this file (created mode 0600 if
                       missing); without it the entry is printed
  --iterations <num>   PBKDF2 iterations (default: ${SCRAM_ITERATIONS}, at least 4096)
  -h, --help           print this help and exit
`;

interface PasswdOptions {
  user: string;
  file: string | null;
  iterations: number;
}

function parse(argv: readonly string[]): PasswdOptions | null {
  let user: string | null = null;
  const o: Omit<PasswdOptions, 'user'> = { file: null, iterations: SCRAM_ITERATIONS };
  for (let i = 0; i < argv.length; i++) {
    const v = (): string => {
      const x = argv[++i];
      if (x === undefined) throw new Error(`${argv[i - 1]} needs a value`);
      return x;
    };
    const a = argv[i];
    if (a === '-h' || a === '--help') return null;
    else if (a === '--file') o.file = v();
    else if (a === '--iterations') {
      o.iterations = Number(v());
      if (!Number.isInteger(o.iterations) || o.iterations < 4096 || o.iterations > 10_000_000) throw new Error('--iterations must be an integer from 4096 to 10000000');
    } else if (a.startsWith('-')) throw new Error(`unknown option: ${a}`);
    else if (user !== null) throw new Error(`one user at a time: ${a}`);
    else user = a;
  }
  if (user === null) throw new Error('which user? lmcached passwd USER');
  // The file's format: the name ends at the first colon, the line at a newline.
  if (user === '' || /[:\r\n]/.test(user)) throw new Error('a user name cannot be empty or hold ":" or a line break');
  return { user, ...o };
}

/** Reads one line from stdin; on a terminal, without echo. */
function readLine(prompt: string): Promise<string> {
  const stdin = process.stdin;
  return new Promise((resolve, reject) => {
    let text = '';
    const tty = stdin.isTTY === true;
    if (tty) {
      process.stderr.write(prompt);
      stdin.setRawMode(true);
    }
    const done = (err: Error | null): void => {
      stdin.off('data', onData);
      stdin.off('end', onEnd);
      if (tty) {
        stdin.setRawMode(false);
        process.stderr.write('\n');
      }
      stdin.pause();
      if (err === null) resolve(text);
      else reject(err);
    };
    const onData = (chunk: Buffer): void => {
      for (const ch of chunk.toString('utf8')) {
        if (ch === '\n' || ch === '\r') return done(null);
        if (ch === '\u0003') return done(new Error('interrupted'));
        if (ch === '\u007f' && tty) text = text.slice(0, -1);
        else text += ch;
      }
    };
    const onEnd = (): void => done(text === '' ? new Error('no password on stdin') : null);
    stdin.on('data', onData);
    stdin.on('end', onEnd);
    stdin.resume();
  });
}

/** `text` (a users file) with `user`'s line replaced by `entry`, or `entry` added. */
export function withEntry(text: string, user: string, entry: string): string {
  const lines = text === '' ? [] : text.replace(/\n$/, '').split('\n');
  const at = lines.findIndex((l) => l.slice(0, l.indexOf(':')) === user);
  if (at >= 0) lines[at] = entry;
  else lines.push(entry);
  return `${lines.join('\n')}\n`;
}

export async function runPasswd(argv: readonly string[]): Promise<void> {
  const o = parse(argv);
  if (o === null) {
    process.stdout.write(PASSWD_HELP);
    return;
  }
  const password = await readLine(`password for ${o.user}: `);
  if (process.stdin.isTTY === true && (await readLine('again: ')) !== password) throw new Error('the passwords differ');
  if (password === '') throw new Error('an empty password is not accepted');
  const entry = saltedEntry(o.user, password, o.iterations);
  if (o.file === null) {
    process.stdout.write(`${entry}\n`);
    return;
  }
  const existed = existsSync(o.file);
  const temp = `${o.file}.${process.pid}.tmp`;
  writeFileSync(temp, withEntry(existed ? readFileSync(o.file, 'utf8') : '', o.user, entry), { mode: 0o600 });
  if (existed) chmodSync(temp, statSync(o.file).mode & 0o777);
  renameSync(temp, o.file);
  process.stderr.write(`${existed ? 'updated' : 'created'} ${o.file}: ${o.user}\n`);
}
