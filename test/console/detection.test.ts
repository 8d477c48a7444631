// Detection in the console (issue 18), in Chromium against a real server with its worker: a clip uploaded
// into a tenant whose policy holds flagged videos for review (thresholds the test pattern always crosses) is
// detected; the video page shows it held, its quality checks and scores, and a flagged frame on request; a
// viewer sees no decision or run buttons; the Moderation page lists it and Approve makes it playable; running
// detection again is followed to its result; the Settings → Detection panel shows the API's validation
// messages and saves a change. Screenshots at desktop and phone widths, axe on every page.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasChromium } from '../support/browser';
import { type ConsoleServer, checkPage, consoleAs, startConsoleServer, VIEWPORTS } from '../support/console';
import { createUploadVia, tusUpload, waitFor } from '../support/uploads';
import { makeClip } from '../support/videos';

interface Detection {
  status: string;
  action: string;
  review: null | { status: string; decidedAt: string | null; decidedBy: string | null };
  completedAt: string | null;
  qc: {
    black: unknown[];
    freeze: unknown[];
    silence: unknown[];
    loudness: null | { integratedLufs: number; lra: number; truePeakDbtp: number };
    interlaced: boolean;
    crop: unknown;
    sceneChanges: number;
  };
  moderation: {
    framesAnalyzed: number;
    flaggedClasses: string[];
    max: Record<string, number>;
    frames: Array<{ time: number }>;
  };
}
interface VideoJson {
  id: string;
  status: string;
  playable: boolean;
  detection: Detection | null;
}

const pct = (n: number) =>
  new Intl.NumberFormat('en', { style: 'percent', maximumFractionDigits: 1 }).format(n);
const one = (n: number) => n.toLocaleString('en', { maximumFractionDigits: 1 });

/** A definition list's terms → descriptions, as shown. */
async function facts(page: Page, scope: string): Promise<Record<string, string>> {
  return page.locator(scope).evaluate((root) => {
    const out: Record<string, string> = {};
    for (const dl of root.querySelectorAll('dl'))
      for (const dt of dl.querySelectorAll('dt'))
        out[dt.textContent ?? ''] = dt.nextElementSibling?.textContent ?? '';
    return out;
  });
}

describe.skipIf(!hasChromium())('console: detection and moderation', () => {
  let s: ConsoleServer;
  const dir = mkdtempSync(path.join(tmpdir(), 'console-detect-'));
  const clip = path.join(dir, 'held-clip.mp4');
  let videoId = '';
  let held: VideoJson;
  const PANEL = 'section[aria-labelledby="detection-h"]';

  const api = async (method: string, p: string, body?: unknown) => {
    const r = await fetch(`${s.base}${p}`, {
      method,
      headers: { ...s.tenant.auth, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.text();
    return { status: r.status, json: text ? JSON.parse(text) : null };
  };
  const video = async (id: string) => (await api('GET', `/v1/videos/${id}`)).json as VideoJson;

  beforeAll(async () => {
    await makeClip(clip, { duration: 6, size: '320x240', audio: true });
    s = await startConsoleServer({}, { worker: true });
    const policy = await api('PATCH', '/v1/detection/policy', {
      moderation: { action: 'review', thresholds: { neutral: 0.01, drawing: 0.01 } },
    });
    expect(policy.status, JSON.stringify(policy.json)).toBe(200);
    const created = await createUploadVia(s.base, s.tenant.auth, { title: 'Held clip' });
    await tusUpload(readFileSync(clip), { endpoint: created.url, headers: created.headers }).promise;
    videoId = created.videoId;
    held = await waitFor(
      async () => {
        const v = await video(videoId);
        if (v.status === 'errored') throw new Error(`errored: ${JSON.stringify(v)}`);
        return v.detection && ['completed', 'failed'].includes(v.detection.status) ? v : undefined;
      },
      180_000,
      'detection of the clip',
    );
    expect(held.detection).toMatchObject({
      status: 'completed',
      action: 'review',
      review: { status: 'pending' },
    });
    expect(held.playable).toBe(false);
  }, 240_000);
  afterAll(async () => {
    await s?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('shows the held video: why it is held, the quality checks, the scores, and a frame on request', async () => {
    const d = held.detection!;
    for (const [name, viewport] of Object.entries(VIEWPORTS)) {
      const { page, context, errors } = await consoleAs(s, 'owner', { viewport });
      await page.goto(`${s.base}/videos/${videoId}`);
      const panel = page.locator(PANEL);
      await panel.getByText('Held for review.', { exact: true }).waitFor();
      expect(await panel.locator('.detect-head .status').allTextContents()).toEqual([
        'Detection: Completed',
        'Outcome: Held for review',
      ]);
      await page.getByText('This video is held for review: it cannot be played').waitFor();
      await page
        .getByRole('note')
        .filter({ hasText: 'Held for review: this video is not playable' })
        .waitFor();
      expect(await page.locator('vod-player').count()).toBe(0);
      // The quality checks and the moderation facts, as the API has them.
      const f = await facts(page, PANEL);
      const l = d.qc.loudness!;
      expect(f).toMatchObject({
        'Black picture': 'None',
        'Frozen picture': 'None',
        Silence: 'None',
        Loudness: `${one(l.integratedLufs)} LUFS integrated · LRA ${one(l.lra)} LU · true peak ${one(l.truePeakDbtp)} dBTP`,
        Interlaced: 'No',
        'Black borders': 'None',
        'Scene changes': String(d.qc.sceneChanges),
        Model: 'nsfwjs-mobilenet_v2',
        'Frames analysed': String(d.moderation.framesAnalyzed),
      });
      expect(f['Flagged classes']?.split(', ').sort()).toEqual(['Drawing', 'Neutral']);
      // One meter per class, its value as a percentage; the flagged ones say so.
      const meters = panel.getByRole('meter');
      expect(await meters.count()).toBe(5);
      for (const [cls, label] of [
        ['neutral', 'Neutral'],
        ['porn', 'Porn'],
      ] as const) {
        const meter = panel.getByRole('meter', { name: label, exact: true });
        const flagged = d.moderation.flaggedClasses.includes(cls);
        expect(await meter.getAttribute('aria-valuetext')).toBe(
          `${pct(d.moderation.max[cls]!)}${flagged ? ', flagged' : ''}`,
        );
      }
      // The listed frames; "Show frame" makes a snapshot of a held video and shows it.
      const frames = panel.locator('li.detect-frame');
      expect(await frames.count()).toBe(d.moderation.frames.length);
      await frames
        .first()
        .getByRole('button', { name: /^Show frame at \d:\d\d\.\d\d$/ })
        .click();
      const img = frames.first().getByRole('img', { name: /^The frame at / });
      await img.waitFor();
      await expect.poll(() => img.evaluate((i: HTMLImageElement) => i.complete && i.naturalWidth)).toBe(320);
      // No cover picker (thumbnails of a held video answer 404), approve and reject offered.
      expect(await page.getByRole('heading', { name: 'Cover' }).count()).toBe(0);
      await panel.getByRole('button', { name: 'Approve' }).waitFor();
      await panel.getByRole('button', { name: 'Reject' }).waitFor();
      await checkPage(page, `detection-video-held-${name}`);
      expect(errors).toEqual([]);
      await context.close();
    }
  }, 120_000);

  it('says when detection has not run, and offers to run it', async () => {
    const made = await api('POST', '/v1/uploads', { title: 'No file yet' });
    expect(made.status).toBe(201);
    const { page, context, errors } = await consoleAs(s, 'member', { expectedStatuses: [401, 409] });
    await page.goto(`${s.base}/videos/${made.json.videoId}`);
    const panel = page.locator(PANEL);
    await panel.getByText('Detection has not run on this video.', { exact: false }).waitFor();
    // No source yet: the API refuses, the page says why.
    await panel.getByRole('button', { name: 'Run detection' }).click();
    await expect.poll(() => panel.getByRole('alert').textContent()).toMatch(/no processed source/);
    expect(errors).toEqual([]);
    await context.close();
  }, 60_000);

  it('gives a viewer the results without Approve, Reject, Run or Show frame', async () => {
    const { page, context, errors } = await consoleAs(s, 'viewer');
    await page.goto(`${s.base}/videos/${videoId}`);
    const panel = page.locator(PANEL);
    await panel.getByText('Held for review.', { exact: true }).waitFor();
    await panel.getByRole('meter', { name: 'Neutral', exact: true }).waitFor();
    expect(await panel.getByRole('button').count()).toBe(0);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Moderation' }).click();
    const table = page.getByRole('table', { name: 'Videos waiting for review' });
    await table.getByRole('link', { name: 'Held clip' }).waitFor();
    expect(await page.getByRole('button', { name: /Approve|Reject/ }).count()).toBe(0);
    await checkPage(page, 'moderation-viewer-desktop');
    expect(errors).toEqual([]);
    await context.close();
    // In Chinese.
    const zh = await consoleAs(s, 'viewer', { locale: 'zh-CN' });
    await zh.page.goto(`${s.base}/videos/${videoId}`);
    const zhPanel = zh.page.locator(PANEL);
    await zhPanel.getByRole('heading', { name: '内容检测' }).waitFor();
    expect(await zhPanel.locator('.detect-head .status').allTextContents()).toEqual([
      '检测： 已完成',
      '结果： 待审核',
    ]);
    await zhPanel.getByRole('meter', { name: '中性', exact: true }).waitFor();
    await checkPage(zh.page, 'detection-video-held-zh');
    await zh.page.goto(`${s.base}/moderation`);
    await zh.page.getByRole('table', { name: '等待审核的视频' }).waitFor();
    expect(zh.errors).toEqual([]);
    await zh.context.close();
  }, 60_000);

  it('lists the video on the Moderation page; Approve empties the queue and the video plays', async () => {
    const phone = await consoleAs(s, 'member', { viewport: VIEWPORTS.phone });
    await phone.page.goto(`${s.base}/moderation`);
    await phone.page.getByRole('button', { name: 'Approve Held clip' }).waitFor();
    await checkPage(phone.page, 'moderation-queue-phone');
    expect(phone.errors).toEqual([]);
    await phone.context.close();

    const { page, context, errors } = await consoleAs(s, 'owner');
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Moderation' }).click();
    await page.getByRole('heading', { name: 'Moderation', level: 1 }).waitFor();
    const table = page.getByRole('table', { name: 'Videos waiting for review' });
    const row = table.locator('tbody tr');
    await expect.poll(() => row.count()).toBe(1);
    const cells = await row.locator('td').allTextContents();
    expect(cells[0]).toBe('Held clip');
    expect(cells[1]).toMatch(/Drawing/);
    expect(cells[1]).toMatch(/Neutral/);
    expect(await row.getByRole('meter', { name: 'Neutral' }).getAttribute('aria-valuetext')).toBe(
      `${pct(held.detection!.moderation.max.neutral!)}, flagged`,
    );
    await checkPage(page, 'moderation-queue-desktop');

    await row.getByRole('button', { name: 'Approve Held clip' }).click();
    await page.getByRole('status').filter({ hasText: '“Held clip” approved: it is playable now.' }).waitFor();
    await page.getByText('No videos are waiting for review.').waitFor();
    await checkPage(page, 'moderation-empty');
    const after = await video(videoId);
    expect(after.playable).toBe(true);
    const me = (await page.evaluate(async () => (await fetch('/v1/sessions/current')).json())).user;
    expect(after.detection?.review).toMatchObject({ status: 'approved', decidedBy: `user:${me.id}` });
    expect((await api('GET', '/v1/moderation/queue')).json.data).toEqual([]);

    // The video page: the decision, and the player.
    await page.goto(`${s.base}/videos/${videoId}`);
    const panel = page.locator(PANEL);
    await panel.getByText(/^Approved by you \(Olivia Owner\) on .+\.$/).waitFor();
    await page.locator('vod-player').waitFor();

    // Running detection again: the page follows it to its result, and the decision stands.
    const before = after.detection!.completedAt;
    await panel.getByRole('button', { name: 'Run detection again' }).click();
    // The new run's result, not the moment it is requested (completedAt is null while it is pending).
    await expect
      .poll(
        async () => {
          const d = (await video(videoId)).detection;
          return d?.status === 'completed' && d.completedAt !== null && d.completedAt !== before;
        },
        { timeout: 120_000 },
      )
      .toBe(true);
    await expect
      .poll(() => panel.locator('.detect-head .status').first().textContent(), { timeout: 15_000 })
      .toBe('Detection: Completed');
    await panel.getByText(/^Approved by you \(Olivia Owner\) on .+\.$/).waitFor();
    expect(await panel.locator('.detect-head .status').allTextContents()).toEqual([
      'Detection: Completed',
      'Outcome: Approved',
    ]);
    expect(await panel.getByRole('button', { name: 'Run detection again' }).isEnabled()).toBe(true);
    await checkPage(page, 'detection-video-approved-desktop');
    expect(errors).toEqual([]);
    await context.close();
  }, 240_000);

  it('saves the tenant policy from Settings → Detection, showing the API’s validation messages', async () => {
    for (const [name, viewport] of Object.entries(VIEWPORTS)) {
      const { page, context, errors } = await consoleAs(s, 'admin', {
        viewport,
        expectedStatuses: [401, 400],
      });
      await page.goto(`${s.base}/settings/detection`);
      await page.getByRole('heading', { name: 'Detection', level: 2 }).waitFor();
      // The form shows the policy as the API has it (the desktop pass below changes it).
      const now = (await api('GET', '/v1/detection/policy')).json.moderation;
      expect(await page.getByLabel('Neutral').inputValue()).toBe(String(now.thresholds.neutral ?? ''));
      expect(await page.getByLabel('Seconds between frames').inputValue()).toBe(String(now.intervalSec));
      const action = { review: /^Review/, flag: /^Flag/ }[now.action as 'review' | 'flag'];
      expect(await page.getByRole('radio', { name: action }).isChecked()).toBe(true);
      await checkPage(page, `settings-detection-${name}`);
      if (name === 'desktop') {
        // Out of range: the API's message beside the field.
        await page.getByLabel('Porn').fill('1.5');
        await page.getByRole('button', { name: 'Save' }).click();
        await page.getByRole('alert').filter({ hasText: 'Fix the field marked below.' }).waitFor();
        expect(await page.getByLabel('Porn').getAttribute('aria-invalid')).toBe('true');
        expect(await page.locator('#det-th-porn-err').textContent()).toMatch(/1|less|big/i);
        await checkPage(page, 'settings-detection-invalid');
        expect((await api('GET', '/v1/detection/policy')).json.moderation.thresholds.porn).toBe(0.7);
        // A valid change (the form sends only the fields that changed).
        await page.getByLabel('Porn').fill('0.8');
        await page.getByRole('radio', { name: /^Flag/ }).check();
        await page.getByLabel('Neutral').fill('');
        await page.getByLabel('Seconds between frames').fill('3');
        await page.getByLabel('Hold every new video until it is checked').check();
        await page.getByRole('button', { name: 'Save' }).click();
        await page.getByRole('status').filter({ hasText: 'Detection policy saved.' }).waitFor();
        const p = (await api('GET', '/v1/detection/policy')).json;
        expect(p).toMatchObject({ enabled: true, qc: true });
        expect(p.moderation).toMatchObject({ action: 'flag', intervalSec: 3, maxFrames: 60, hold: true });
        expect(p.moderation.thresholds).toEqual({
          porn: 0.8,
          sexy: 0.9,
          hentai: 0.7,
          drawing: 0.01,
          neutral: null,
        });
      }
      expect(errors).toEqual([]);
      await context.close();
    }
    // A member reads the policy but cannot change it here.
    const { page, context, errors } = await consoleAs(s, 'member');
    await page.goto(`${s.base}/settings/detection`);
    await page.getByRole('note').filter({ hasText: 'You can look, not change' }).waitFor();
    expect(await page.getByLabel('Seconds between frames').isDisabled()).toBe(true);
    expect(await page.getByRole('button', { name: 'Save' }).count()).toBe(0);
    expect(errors).toEqual([]);
    await context.close();
  }, 120_000);
});
