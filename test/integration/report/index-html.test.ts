import { accessSync, constants } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { execa } from 'execa';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { generatedTopologyText } from '../../helpers/generated-topology.ts';
import { testWhen } from '../../helpers/interop-tools.ts';
import { measureInPage } from '../../helpers/report-page.ts';
import { projectRoot } from '../../helpers/seed-topology.ts';

/**
 * index.html as a reader sees it: two real suites on the local runtime (a cascade with long host
 * names, markup in its texts, a garbage identd and a case that fails on purpose; and the
 * generated 50-host estate), each page opened in headless Chromium and measured. Every case
 * shows its case map and its sequence view, failed cases are open, no text runs out of the box
 * drawn around it, the numbered edge labels of a case map never cover each other, and the
 * 50-host topology keeps readable text (the page scrolls instead of shrinking it).
 *
 * Screenshots go to $SOCKSLAB_SCREENSHOT_DIR when set (to look at), else to a scratch directory.
 */

const chromiumPath = '/usr/bin/chromium';
const fixtures = join(projectRoot, 'test/integration/report/fixtures');
const cli = join(projectRoot, 'src/cli/sockslab.ts');

const chromiumInstalled = () => {
  try {
    accessSync(chromiumPath, constants.X_OK);
    return null;
  } catch {
    return `${chromiumPath} is not installed (Debian: apt-get install chromium)`;
  }
};

const test = testWhen('index.html in headless Chromium', chromiumInstalled);

/** Smallest on-screen font size (CSS px) we call readable at the default zoom. */
const READABLE_PX = 10;

/** `sockslab run` on a topology whose scenarios lie beside it; the run directory. */
async function runSuite(topology: string, reports: string): Promise<{ dir: string; exitCode: number }> {
  const r = await execa('node', ['--import=tsx', cli, 'run', topology, '--report-dir', reports], {
    cwd: projectRoot,
    reject: false,
    env: { CI: '1' },
    timeout: 240_000,
  });
  if (r.exitCode !== 0 && r.exitCode !== 1) throw new Error(`sockslab run failed: ${r.stdout}\n${r.stderr}`);
  return { dir: join(reports, 'latest'), exitCode: r.exitCode ?? -1 };
}

async function open(context: BrowserContext, file: string): Promise<Page> {
  const page = await context.newPage();
  await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
  return page;
}

test('index.html shows every case with its map and sequence, failed cases open, and no text runs out of its box', async (t) => {
  const scratch = await mkdtemp(join(tmpdir(), 'sockslab-index-html-'));
  t.teardown(() => rm(scratch, { recursive: true, force: true }));
  const shots = process.env.SOCKSLAB_SCREENSHOT_DIR ?? join(scratch, 'screenshots');
  await mkdir(shots, { recursive: true });

  // Suite 1: hostile names and a failing case. Suite 2: the generated 50-host estate.
  const hostile = await runSuite(join(fixtures, 'hostile-names.yaml'), join(scratch, 'hostile'));
  t.is(hostile.exitCode, 1, 'the suite has a case that fails on purpose');
  const estate = join(scratch, 'estate');
  await mkdir(estate);
  await writeFile(join(estate, 'generated.yaml'), generatedTopologyText());
  await cp(join(fixtures, 'generated.scenario.yaml'), join(estate, 'generated.scenario.yaml'));
  const big = await runSuite(join(estate, 'generated.yaml'), join(scratch, 'estate-reports'));

  const profile = await mkdtemp(join(tmpdir(), 'sockslab-chromium-'));
  t.teardown(() => rm(profile, { recursive: true, force: true }));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  t.teardown(() => context.close());
  // The page is self-contained: anything but a local file is refused.
  await context.route('**/*', (route) =>
    route.request().url().startsWith('file:') ? route.continue() : route.abort(),
  );

  const report = JSON.parse(await readFile(join(hostile.dir, 'report.json'), 'utf8')) as {
    cases: { verdict: string }[];
  };
  const page = await open(context, join(hostile.dir, 'index.html'));
  await page.screenshot({ path: join(shots, 'hostile-collapsed.png'), fullPage: true });
  const facts = await measureInPage(page);
  await page.screenshot({ path: join(shots, 'hostile-expanded.png'), fullPage: true });
  const failed = page.locator('details[id^="case-2-"]');
  await failed.screenshot({ path: join(shots, 'hostile-failed-case.png') });

  t.is(facts.cases.length, report.cases.length);
  t.deepEqual(
    facts.cases.map((c) => c.failed),
    report.cases.map((c) => c.verdict === 'fail'),
  );
  t.true(facts.cases.some((c) => c.failed));
  for (const c of facts.cases) {
    t.is(c.maps, 1, `${c.id} has its case map`);
    t.is(c.sequences, 1, `${c.id} has its sequence view`);
    t.is(c.open, c.failed, `${c.id} is ${c.failed ? 'open (failed)' : 'folded (passed)'}`);
  }
  t.is(facts.figures, 1 + 2 * facts.cases.length);
  t.deepEqual(facts.overflows, [], 'every text lies inside the box drawn around it');
  t.true(facts.edgeLabels > 0);
  t.deepEqual(facts.overlaps, [], 'no two edge labels of a case map cover each other');

  const estatePage = await open(context, join(big.dir, 'index.html'));
  const estateFacts = await measureInPage(estatePage);
  await estatePage
    .locator('figure.diagram.topology')
    .screenshot({ path: join(shots, 'estate-topology.png') });
  await estatePage
    .locator('figure.diagram.map')
    .first()
    .screenshot({ path: join(shots, 'estate-case-map.png') });
  t.true(estateFacts.cases.length > 0);
  for (const c of estateFacts.cases) t.deepEqual([c.maps, c.sequences], [1, 1], c.id);
  const topology = estateFacts.topology;
  if (topology === undefined) return t.fail('the 50-host page has no topology diagram');
  t.true(topology.minFontPx >= READABLE_PX, `smallest text on screen ${topology.minFontPx.toFixed(1)} px`);
  // Wider than the window: drawn at full size in a box that scrolls, not shrunk to fit.
  t.true(topology.svgWidth > topology.boxWidth);
  t.is(topology.overflowX, 'auto');
  t.true(topology.scrollWidth > topology.boxWidth);
  t.deepEqual(estateFacts.overflows, [], 'every text of the 50-host page lies inside its box');
  t.deepEqual(estateFacts.overlaps, []);
  if (process.env.SOCKSLAB_SCREENSHOT_DIR) t.log(`screenshots in ${shots}`);
});
