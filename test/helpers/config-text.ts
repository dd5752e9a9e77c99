import { type ConfigName, type ConfigOfName, parseConfigText } from '../../src/topology/config-parsers.ts';
import type { ParsedConfigText, TextOrigin } from '../../src/topology/model.ts';

/**
 * A config text as the topology loader carries it (text, origin and parse result), for tests and
 * benches that build a ResolvedTopology by hand. Parsed by the loader's own function, so a
 * hand-built model is what loading the same text would give.
 */
export function configText<K extends ConfigName>(
  name: K,
  text: string,
  origin: TextOrigin = { file: `/lab/${name}`, line: 1, column: 1, inline: true },
): ParsedConfigText<ConfigOfName[K]> {
  return parseConfigText(name, { name, text, origin });
}
