import { parseSockdConf } from '../config/sockd-conf.ts';
import { parseSockdRoute } from '../config/sockd-route.ts';
import { parseSocksConf } from '../config/socks-conf.ts';
import type { ConfigParsers } from './resolve.ts';

/** The config module's parsers, as the loader and the local runtime use them. */
export const configParsers: ConfigParsers = {
  'sockd.conf': (text, file) => parseSockdConf(text, { file }),
  'socks.conf': (text, file) => parseSocksConf(text, { file }),
  'sockd.route': (text, file) => parseSockdRoute(text, { file }),
};
