import { parentPort } from 'node:worker_threads';
import { serveParser } from './parser-thread.js';

// Entry of the ingest parser thread (see ParserThread).
if (parentPort) serveParser(parentPort);
