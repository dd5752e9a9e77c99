#!/usr/bin/env node
/** make_socksfc [infile [outfile]] (spec f.2): Freezes socks.conf into socks.fc; exit 0 written, 1 otherwise. */
import { processIo, runMake } from './frozen-tool.ts';

process.exitCode = runMake('socks.conf', process.argv.slice(2), processIo);
