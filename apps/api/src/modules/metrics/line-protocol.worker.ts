import { parentPort } from 'node:worker_threads';
import { serveLineParser } from './line-parser-thread.js';

// Entry of the line-protocol parser thread (see LineParserThread).
if (parentPort) serveLineParser(parentPort);
