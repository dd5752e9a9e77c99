#!/usr/bin/env node
import { run } from './server-cli.ts';

/** rsockd: the SOCKSified SOCKS server (spec a.2, h). */
run('rsockd');
