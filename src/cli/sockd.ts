#!/usr/bin/env node
import { run } from './server-cli.ts';

/** sockd: rsockd with routing fixed to direct (spec a.1, h). */
run('sockd');
