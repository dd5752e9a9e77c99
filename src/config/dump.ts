/**
 * The listing printed by `dump_sockdfc`, `dump_socksfc` and `dump_sockdfr` (spec f.4): one
 * `line N: <canonical text>` per entry in file order, so frozen and text configs can be compared.
 */
import { dottedOf as dotted } from '../common/inet-address.ts';
import type { AddrSpec, AnyConfig, ClientRule, PortTest, RouteRule, ServerRule } from './ast.ts';

/** Numeric addresses in dotted-decimal, patterns as written; an omitted mask prints 0.0.0.0. */
function addrPair(spec: AddrSpec): string {
  const addr = spec.pattern.kind === 'ip' ? dotted(spec.pattern.addr) : spec.text;
  return `${addr} ${dotted(spec.mask)}`;
}

function tail(port: PortTest | undefined, command: string | undefined): string[] {
  const parts: string[] = [];
  if (port !== undefined) parts.push(port.op, String(port.port));
  // The command is printed exactly as stored, so a leading blank gives two blanks after `:`.
  if (command !== undefined) parts.push(`: ${command}`);
  return parts;
}

function serverRuleText(rule: ServerRule): string {
  const fields: string[] = [rule.action];
  if (rule.identd) fields.push(rule.identd.text);
  if (rule.users) fields.push(rule.users.text);
  fields.push(addrPair(rule.src), addrPair(rule.dst), ...tail(rule.port, rule.command));
  return fields.join(' ');
}

function clientRuleText(rule: ClientRule): string {
  const fields: string[] = [rule.action];
  if (rule.servers) {
    // The one-field form `sockd@list` is printed as `sockd @=list`.
    fields.push(rule.servers.atForm ? `@=${rule.servers.text.slice('sockd@'.length)}` : rule.servers.text);
  }
  if (rule.users) fields.push(rule.users.text);
  fields.push(addrPair(rule.dst), ...tail(rule.port, rule.command));
  return fields.join(' ');
}

function routeText(route: RouteRule): string {
  return `${dotted(route.iface)} ${addrPair(route.dst)}`;
}

/** The f.4 listing, one line per entry (with a final newline when there is any entry). */
export function dumpConfig(config: AnyConfig): string {
  const entries: { line: number; text: string }[] = [];
  switch (config.kind) {
    case 'sockd.conf':
      if (config.noIdentd)
        entries.push({ line: config.noIdentd.line, text: `#NO_IDENTD:${config.noIdentd.command}` });
      if (config.badId) entries.push({ line: config.badId.line, text: `#BAD_ID:${config.badId.command}` });
      for (const rule of config.rules) entries.push({ line: rule.line, text: serverRuleText(rule) });
      break;
    case 'socks.conf':
      for (const rule of config.rules) entries.push({ line: rule.line, text: clientRuleText(rule) });
      break;
    case 'sockd.route':
      for (const route of config.routes) entries.push({ line: route.line, text: routeText(route) });
      break;
  }
  entries.sort((a, b) => a.line - b.line);
  return entries.map((e) => `line ${e.line}: ${e.text}\n`).join('');
}

/**
 * The config line of one dump entry. Fields never contain `:`, so the first ` : ` is the one the
 * dump put before the command; the blank it added after the colon is removed again.
 */
function entryText(text: string): string {
  if (text.startsWith('#')) return text;
  const colon = text.indexOf(' : ');
  return colon === -1 ? text : text.slice(0, colon + 2) + text.slice(colon + 3);
}

/**
 * Turns a dump back into config text with every entry on its original line (blank lines in
 * between), so that parsing it gives the same rules at the same line numbers.
 */
export function undumpToText(dump: string): string {
  const lines: string[] = [];
  for (const entry of dump.split('\n')) {
    const match = /^line ([0-9]+): (.*)$/s.exec(entry);
    if (!match) continue;
    const line = Number(match[1]);
    while (lines.length < line - 1) lines.push('');
    lines.push(entryText(match[2] ?? ''));
  }
  return lines.map((l) => `${l}\n`).join('');
}
