import { parseXml, type XmlElement } from './xml-tree.ts';

/**
 * Structural JUnit validation, following the common JUnit XSD in test/fixtures/junit/junit.xsd
 * (the Ant/Jenkins shape): element nesting and order, required attributes, attribute types, and
 * that the counts agree with the test cases. Returns the list of violations (empty = valid).
 */
const Integer = /^\d+$/;
const Decimal = /^\d+(?:\.\d+)?$/;
const DateTimeNoZone = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?$/;

interface ElementRule {
  readonly required: readonly string[];
  readonly optional: readonly string[];
  readonly types?: Readonly<Record<string, RegExp>>;
  /** Allowed children as a regular expression over the sequence of child names. */
  readonly content: RegExp;
  readonly text: boolean;
}

const Rules: Record<string, ElementRule> = {
  testsuites: {
    required: [],
    optional: ['name', 'tests', 'failures', 'errors', 'disabled', 'time'],
    types: { tests: Integer, failures: Integer, errors: Integer, disabled: Integer, time: Decimal },
    content: /^(testsuite )*$/,
    text: false,
  },
  testsuite: {
    required: ['name', 'tests', 'failures', 'errors', 'time'],
    optional: ['skipped', 'disabled', 'timestamp', 'hostname', 'id', 'package', 'file'],
    types: {
      tests: Integer,
      failures: Integer,
      errors: Integer,
      skipped: Integer,
      disabled: Integer,
      time: Decimal,
      timestamp: DateTimeNoZone,
      id: Integer,
    },
    content: /^(properties )?(testcase )*(system-out )?(system-err )?$/,
    text: false,
  },
  properties: { required: [], optional: [], content: /^(property )*$/, text: false },
  property: { required: ['name', 'value'], optional: [], content: /^$/, text: false },
  testcase: {
    required: ['name', 'classname', 'time'],
    optional: ['assertions', 'status', 'file', 'line'],
    types: { time: Decimal, assertions: Integer, line: Integer },
    content: /^((skipped|error|failure) )*(system-out )?(system-err )?$/,
    text: false,
  },
  failure: { required: ['type'], optional: ['message'], content: /^$/, text: true },
  error: { required: ['type'], optional: ['message'], content: /^$/, text: true },
  skipped: { required: [], optional: ['message'], content: /^$/, text: true },
  'system-out': { required: [], optional: [], content: /^$/, text: true },
  'system-err': { required: [], optional: [], content: /^$/, text: true },
};

export function validateJunit(xml: string): string[] {
  const problems: string[] = [];
  let root: XmlElement;
  try {
    root = parseXml(xml);
  } catch (err) {
    return [`not well-formed: ${(err as Error).message}`];
  }
  if (root.name !== 'testsuites') problems.push(`root is <${root.name}>, expected <testsuites>`);
  const visit = (el: XmlElement, where: string) => {
    const rule = Rules[el.name];
    if (!rule) {
      problems.push(`${where}: unexpected element <${el.name}>`);
      return;
    }
    for (const a of rule.required)
      if (!(a in el.attributes)) problems.push(`${where}: missing attribute ${a}`);
    for (const [a, v] of Object.entries(el.attributes)) {
      if (!rule.required.includes(a) && !rule.optional.includes(a))
        problems.push(`${where}: unexpected attribute ${a}`);
      const type = rule.types?.[a];
      if (type && !type.test(v)) problems.push(`${where}: attribute ${a}="${v}" does not match ${type}`);
    }
    const seq = el.children.map((c) => `${c.name} `).join('');
    if (!rule.content.test(seq))
      problems.push(`${where}: children "${seq.trim()}" do not fit ${rule.content}`);
    if (!rule.text && el.text.trim() !== '') problems.push(`${where}: unexpected text content`);
    el.children.forEach((c, k) => {
      visit(c, `${where}/${c.name}[${k}]`);
    });
  };
  visit(root, root.name);
  for (const suite of root.children.filter((c) => c.name === 'testsuite')) {
    const cases = suite.children.filter((c) => c.name === 'testcase');
    const failed = cases.filter((c) => c.children.some((f) => f.name === 'failure')).length;
    if (Number(suite.attributes.tests) !== cases.length) {
      problems.push(
        `testsuite ${suite.attributes.name}: tests=${suite.attributes.tests} but ${cases.length} testcases`,
      );
    }
    if (Number(suite.attributes.failures) !== failed) {
      problems.push(
        `testsuite ${suite.attributes.name}: failures=${suite.attributes.failures} but ${failed} failed`,
      );
    }
  }
  return problems;
}
