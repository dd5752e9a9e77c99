/**
 * Classic BSD `inet_aton` numeric address syntax (spec Appendix C); output is common/inet-address.ts's dottedOf.
 * Addresses are unsigned 32-bit numbers in host order.
 */

const HEX = /^0[xX][0-9a-fA-F]*$/;
const OCTAL = /^0[0-7]*$/;
const DECIMAL = /^[1-9][0-9]*$/;

/** Value of one dot-separated part, or undefined when its digits do not fit its base. */
function partValue(part: string): number | undefined {
  // Long digit strings are parsed anyway: their value exceeds every width and is rejected below.
  if (HEX.test(part)) return part.length === 2 ? 0 : Number.parseInt(part.slice(2), 16);
  if (OCTAL.test(part)) return part.length === 1 ? 0 : Number.parseInt(part.slice(1), 8);
  if (DECIMAL.test(part)) return Number.parseInt(part, 10);
  return undefined;
}

/**
 * `text` as a 32-bit address, or undefined when it is not numeric (then it is a domain pattern
 * where an address may stand, and an error where a mask or interface address is required).
 * `a` = 32 bits; `a.b` = 8 + 24; `a.b.c` = 8 + 8 + 16; `a.b.c.d` = four bytes.
 */
export function inetAton(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length > 4) return undefined;
  const values: number[] = [];
  for (const part of parts) {
    const value = partValue(part);
    if (value === undefined) return undefined;
    values.push(value);
  }
  // The last part fills every byte the earlier parts did not take.
  const lastBits = 8 * (5 - values.length);
  let result = 0;
  for (const [index, value] of values.entries()) {
    const isLast = index === values.length - 1;
    const limit = isLast ? 2 ** lastBits : 256;
    if (value >= limit) return undefined;
    result = isLast ? result + value : result + value * 2 ** (24 - 8 * index);
  }
  return result;
}
