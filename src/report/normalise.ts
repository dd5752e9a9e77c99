/**
 * Removes what legitimately differs between two runs of the same input — times, durations,
 * ports, run and session ids — so reports can be compared (tests, CI regression diffs).
 */
const TimeKeys = new Set(['startedAt', 'finishedAt', 't']);
const DurationKeys = new Set(['durationMs', 'time']);
const IdKeys = new Set(['id', 'session']);

export function normaliseReport<T>(value: T): T {
  return walk(value, undefined) as T;
}

function walk(input: unknown, key: string | undefined): unknown {
  let value = input;
  if (Array.isArray(value)) return value.map((v) => walk(v, undefined));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v, k)]));
  }
  if (key !== undefined) {
    if (TimeKeys.has(key) && (typeof value === 'string' || typeof value === 'number')) return '<time>';
    if (DurationKeys.has(key) && typeof value === 'number') return '<ms>';
    if (IdKeys.has(key) && typeof value === 'string') return '<id>';
    if (key === 'port' && typeof value === 'number' && ephemeral(value)) return '<port>';
  }
  if (typeof value === 'string') {
    // identd queries and answers start with the port pair: `40001 , 1080 : USERID : UNIX : x`.
    const pair = /^(\s*)(\d+)(\s*,\s*)(\d+)/.exec(value);
    if (pair) {
      value = `${pair[1]}${portText(pair[2]!)}${pair[3]}${portText(pair[4]!)}${value.slice(pair[0].length)}`;
    }
    // Free text (failure messages, logs) may quote endpoints like 10.1.0.5:40312.
    return bindPorts(
      (value as string).replace(
        /(\d{1,3}(?:\.\d{1,3}){3})[:.](\d{4,5})\b/g,
        (m, addr: string, port: string) => (ephemeral(port) ? `${addr}:<port>` : m),
      ),
    );
  }
  return value;
}

/**
 * The same for a rendered report (junit.xml, summary.md, index.html): the runs' ids, timestamps,
 * durations and ephemeral ports in the text, so two renderings of equal reports compare equal.
 */
export function normaliseReportText(text: string, runIds: readonly string[]): string {
  let out = text;
  for (const id of runIds) if (id !== '') out = out.split(id).join('<id>');
  return (
    out
      .replace(/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z?/g, '<time>')
      .replace(/\btime="[\d.]+"/g, 'time="<s>"')
      .replace(/\b\d+ ms\b/g, '<ms> ms')
      // identd queries and answers: `40001 , 1080 : USERID : UNIX : x`
      .replace(
        /\b(\d+)(\s*,\s*)(\d+)(\s*:)/g,
        (_m, a: string, sep: string, b: string, colon: string) =>
          `${portText(a)}${sep}${portText(b)}${colon}`,
      )
      .replace(/(\d{1,3}(?:\.\d{1,3}){3})[:.](\d{4,5})\b/g, (m, addr: string, p: string) =>
        ephemeral(p) ? `${addr}:<port>` : m,
      )
      .replace(bindForPort, bindPort)
  );
}

/**
 * Ports that differ per run: the lab's ephemeral ones. Well-known service ports (below 1024) and
 * SOCKS's 1080 are part of the design and stay.
 */
const ephemeral = (port: string | number): boolean => Number(port) >= 1024 && Number(port) !== 1080;
const portText = (port: string): string => (ephemeral(port) ? '<port>' : port);

/**
 * A BIND request's REQDESC names the port it expects the peer from, `… for HOST (40312)`, and in
 * the lab that is the client's ephemeral port (a CONNECT's `to HOST (PORT)` is the design's own
 * port and stays).
 */
const bindForPort = /( for \S+ )\((\d{4,5})\)/g;
function bindPort(m: string, lead: string, port: string): string {
  return ephemeral(port) ? `${lead}(<port>)` : m;
}
function bindPorts(text: string): string {
  return text.includes(' for ') ? text.replace(bindForPort, bindPort) : text;
}
