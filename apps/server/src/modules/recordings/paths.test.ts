import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkOnReceipt, fetchUrlFor, openRecording, resolveUnderDirs } from './paths';

const root = mkdtempSync(path.join(tmpdir(), 'vodrecpaths-'));
const rec = path.join(root, 'rec');
const outside = path.join(root, 'outside');
mkdirSync(path.join(rec, 'live'), { recursive: true });
mkdirSync(outside);
writeFileSync(path.join(rec, 'live', 'cam-1.flv'), 'flv');
writeFileSync(path.join(outside, 'secret.flv'), 'secret');
symlinkSync(path.join(outside, 'secret.flv'), path.join(rec, 'link-out.flv'));
symlinkSync(outside, path.join(rec, 'dir-out'));
symlinkSync(path.join(rec, 'live', 'cam-1.flv'), path.join(rec, 'link-in.flv'));
// The configured directory itself through a symlink: paths given under either name are fine.
symlinkSync(rec, path.join(root, 'rec-alias'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const refused = async (p: string, dirs = [rec]) => {
  const err = await resolveUnderDirs(p, dirs).then(
    () => null,
    (e: { code?: string; message: string }) => e,
  );
  expect(err?.code, `${p} should be refused`).toBe('validation_failed');
  return err!.message;
};

describe('recording paths (VOD_RECORDING_DIRS)', () => {
  it('accepts a file under a directory, by its real path, also through a symlink that stays inside', async () => {
    expect(await resolveUnderDirs(path.join(rec, 'live', 'cam-1.flv'), [rec])).toBe(
      path.join(rec, 'live', 'cam-1.flv'),
    );
    expect(await resolveUnderDirs(path.join(rec, 'link-in.flv'), [rec])).toBe(
      path.join(rec, 'live', 'cam-1.flv'),
    );
    expect(
      await resolveUnderDirs(path.join(root, 'rec-alias', 'live', 'cam-1.flv'), [
        path.join(root, 'rec-alias'),
      ]),
    ).toBe(path.join(rec, 'live', 'cam-1.flv'));
  });

  it('refuses paths outside, `..`, relative paths, symlinks out, directories, missing files, NUL', async () => {
    expect(await refused('/etc/passwd')).toMatch(/not under a recording directory/);
    expect(await refused(`${rec}/../outside/secret.flv`)).toMatch(/\.\./);
    expect(await refused('live/cam-1.flv')).toMatch(/absolute/);
    expect(await refused(path.join(rec, 'link-out.flv'))).toMatch(/outside the recording directories/);
    expect(await refused(path.join(rec, 'dir-out', 'secret.flv'))).toMatch(
      /outside the recording directories/,
    );
    expect(await refused(path.join(rec, 'missing.flv'))).toMatch(/does not exist/);
    expect(await refused(`${rec}/live/cam-1.flv\0.txt`)).toMatch(/NUL/);
    // A sibling whose name starts with the directory's name is not inside it.
    mkdirSync(`${rec}-evil`, { recursive: true });
    writeFileSync(`${rec}-evil/x.flv`, 'x');
    expect(await refused(`${rec}-evil/x.flv`)).toMatch(/not under a recording directory/);
    expect(await refused(path.join(rec, 'live', 'cam-1.flv'), [])).toMatch(/no recording directory/);
  });

  it('opens only regular files', async () => {
    const { fh, size } = await openRecording(path.join(rec, 'live', 'cam-1.flv'));
    expect(size).toBe(3);
    await fh.close();
    await expect(openRecording(path.join(rec, 'live'))).rejects.toMatchObject({ code: 'validation_failed' });
  });

  it('maps a path to the hook’s fetchBaseUrl: below recordDir kept, else the file name; segments encoded', () => {
    expect(fetchUrlFor('http://rec.example/files', '/var/rec', '/var/rec/live/cam 1.flv')).toBe(
      'http://rec.example/files/live/cam%201.flv',
    );
    expect(fetchUrlFor('http://rec.example/files/', null, '/var/rec/live/cam-1.flv')).toBe(
      'http://rec.example/files/cam-1.flv',
    );
    expect(fetchUrlFor('http://rec.example/f', '/var/rec', '/elsewhere/a?b#c.flv')).toBe(
      'http://rec.example/f/a%3Fb%23c.flv',
    );
    expect(() => fetchUrlFor('http://rec.example/f', null, '/var/../etc/passwd')).toThrow(/\.\./);
  });

  it('on receipt: the full check where the directories are mounted, the form check where they are not', async () => {
    const file = path.join(rec, 'live', 'cam-1.flv');
    expect(await checkOnReceipt(file, { fetchBaseUrl: null, recordDir: null, dirs: [rec] })).toEqual({
      kind: 'path',
      path: file,
    });
    await expect(
      checkOnReceipt(path.join(rec, 'link-out.flv'), { fetchBaseUrl: null, recordDir: null, dirs: [rec] }),
    ).rejects.toMatchObject({ code: 'validation_failed' });
    // An API node without the mount: the form is checked here, the rest by the worker that reads it.
    expect(
      await checkOnReceipt('/mnt/absent/live/x.flv', {
        fetchBaseUrl: null,
        recordDir: null,
        dirs: ['/mnt/absent'],
      }),
    ).toEqual({
      kind: 'path',
      path: '/mnt/absent/live/x.flv',
    });
    await expect(
      checkOnReceipt('/etc/passwd', { fetchBaseUrl: null, recordDir: null, dirs: ['/mnt/absent'] }),
    ).rejects.toMatchObject({ code: 'validation_failed' });
    expect(
      await checkOnReceipt('/var/rec/live/x.flv', {
        fetchBaseUrl: 'http://rec.example/r',
        recordDir: '/var/rec',
        dirs: [],
      }),
    ).toEqual({ kind: 'url', url: 'http://rec.example/r/live/x.flv' });
  });
});
