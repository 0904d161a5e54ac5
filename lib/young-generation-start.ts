/**
 * Starts the event loop's young-generation cap as a module's side effect: cli.ts imports it
 * first, so it runs before the other modules are evaluated: loading them (lmdb's among them)
 * grows V8's new space from 1 MB to the cap's 8 MB, and on another V8 or machine might grow it
 * past the cap before startApp could start it.
 */
import { youngGenerationCap } from './young-generation-cap.js';

youngGenerationCap.start();
