#!/usr/bin/env node
/** dump_sockdfc [infile] (spec f.2, f.4): lists a frozen sockd.conf; exit 0, or 1 if unusable. */
import { processIo, runDump } from './frozen-tool.ts';

process.exitCode = runDump('sockd.conf', process.argv.slice(2), processIo);
