#!/usr/bin/env node
/** make_sockdfr [infile [outfile]] (spec f.2): Freezes sockd.route into sockd.fr; exit 0 written, 1 otherwise. */
import { processIo, runMake } from './frozen-tool.ts';

process.exitCode = runMake('sockd.route', process.argv.slice(2), processIo);
