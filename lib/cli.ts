#!/usr/bin/env node
/**
 * The lmcached command: parses flags, starts the server, and shuts down cleanly on
 * SIGTERM/SIGINT. `lmcached tail ...` prints a server's change stream instead.
 */
// First: the imports below are evaluated in order, and this one caps V8's new space before they grow it.
import './young-generation-start.js';
import { startApp } from './app.js';
import { log, setVerbosity } from './log.js';
import { UsageError, parseArgs } from './settings.js';
import { HELP } from './help.js';
import { LMCACHED_VERSION } from './version.js';
import { runTail } from './tail.js';
import { runPasswd } from './passwd.js';
import { EXIT, StartupError } from './startup.js';

async function main(argv: string[]): Promise<void> {
  const tools: Record<string, (args: string[]) => Promise<void>> = { tail: runTail, passwd: runPasswd };
  const tool = tools[argv[0] ?? ''];
  if (tool !== undefined) {
    // A tool's failure (a bad option, a server it cannot reach) is one line, never a trace.
    return tool(argv.slice(1)).catch((err: unknown) => {
      process.stderr.write(`lmcached ${argv[0]}: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    });
  }
  let parsed;
  try {
    parsed = parseArgs(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`lmcached: ${err.message}\n\n${HELP}`);
      process.exit(EXIT.usage);
    }
    throw err;
  }
  if (parsed.action === 'help') {
    process.stdout.write(HELP);
    return;
  }
  if (parsed.action === 'version') {
    process.stdout.write(`lmcached ${LMCACHED_VERSION}\n`);
    return;
  }
  setVerbosity(parsed.settings.verbosity);
  // A server stays up for its other clients: a fault that escapes everything else is logged
  // at error level, never the end of the process.
  process.on('unhandledRejection', (reason: unknown) => log.error(`unhandled rejection, kept running: ${describe(reason)}`));
  process.on('uncaughtException', (err: Error) => log.error(`uncaught exception, kept running: ${describe(err)}`));
  const app = await startApp(parsed.settings);
  const shutdown = (signal: string): void => {
    log.info(`${signal}: shutting down`);
    app.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error(`shutdown failed: ${String(err)}`);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

function describe(err: unknown): string {
  return err instanceof Error ? (err.stack ?? err.message) : String(err);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof StartupError) {
    log.error(err.message);
    process.exit(err.exitCode);
  }
  log.error(`fatal: ${describe(err)}`);
  process.exit(1);
});
