/** What a rule means, without where or how it was written: used to compare round trips. */
import type { AddrSpec, AnyConfig } from '../../../src/config/ast.ts';

function addr(spec: AddrSpec) {
  return { pattern: spec.pattern, mask: spec.mask };
}

export function semantics(config: AnyConfig): unknown {
  switch (config.kind) {
    case 'sockd.conf':
      return {
        noIdentd: config.noIdentd,
        badId: config.badId,
        rules: config.rules.map((r) => ({
          line: r.line,
          action: r.action,
          identd: r.identd?.mode,
          users: r.users?.elements,
          src: addr(r.src),
          dst: addr(r.dst),
          port: r.port && { op: r.port.op, port: r.port.port },
          command: r.command,
        })),
      };
    case 'socks.conf':
      return config.rules.map((r) => ({
        line: r.line,
        action: r.action,
        servers: r.servers?.entries,
        users: r.users?.elements,
        dst: addr(r.dst),
        port: r.port && { op: r.port.op, port: r.port.port },
        command: r.command,
      }));
    case 'sockd.route':
      return config.routes.map((r) => ({ line: r.line, iface: r.iface, dst: addr(r.dst) }));
  }
}
