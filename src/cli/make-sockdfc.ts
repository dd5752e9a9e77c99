#!/usr/bin/env node
/** make_sockdfc [infile [outfile]] (spec f.2): Freezes sockd.conf into sockd.fc; exit 0 written, 1 otherwise. */
import { processIo, runMake } from './frozen-tool.ts';

process.exitCode = runMake('sockd.conf', process.argv.slice(2), processIo);
