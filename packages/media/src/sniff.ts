import { open } from 'node:fs/promises';

/** What the first bytes of a file say it is, independent of its name. */
export type SniffedKind =
  | 'empty'
  | 'isobmff'
  | 'matroska'
  | 'mpegts'
  | 'mpegps'
  | 'avi'
  | 'flv'
  | 'ogg'
  | 'wav'
  | 'mp3'
  | 'flac'
  | 'asf'
  | 'image'
  | 'text'
  | 'unknown';

export interface Sniff {
  kind: SniffedKind;
  size: number;
}

const ISO_BOXES = new Set(['ftyp', 'moov', 'mdat', 'free', 'wide', 'skip', 'pnot', 'uuid', 'styp', 'sidx']);

/** Reads up to 4 KB of `path` and names its container by magic bytes. Never throws for short files. */
export async function sniffFile(path: string): Promise<Sniff> {
  const fh = await open(path, 'r');
  try {
    const st = await fh.stat();
    const buf = Buffer.alloc(Math.min(4096, st.size));
    if (buf.length > 0) await fh.read(buf, 0, buf.length, 0);
    return { kind: sniffBytes(buf), size: st.size };
  } finally {
    await fh.close();
  }
}

export function sniffBytes(b: Buffer): SniffedKind {
  if (b.length === 0) return 'empty';
  const ascii = (start: number, len: number) => b.subarray(start, start + len).toString('latin1');
  if (b.length >= 8 && ISO_BOXES.has(ascii(4, 4))) return 'isobmff';
  if (b.length >= 4 && b.readUInt32BE(0) === 0x1a45dfa3) return 'matroska';
  if (b[0] === 0x47 && (b.length < 189 || b[188] === 0x47)) return 'mpegts';
  if (b.length >= 193 && b[4] === 0x47 && b[196] === 0x47) return 'mpegts'; // M2TS (192-byte packets)
  if (b.length >= 4 && b.readUInt32BE(0) === 0x000001ba) return 'mpegps';
  if (ascii(0, 4) === 'RIFF' && ascii(8, 4) === 'AVI ') return 'avi';
  if (ascii(0, 4) === 'RIFF' && ascii(8, 4) === 'WAVE') return 'wav';
  if (ascii(0, 3) === 'FLV') return 'flv';
  if (ascii(0, 4) === 'OggS') return 'ogg';
  if (ascii(0, 4) === 'fLaC') return 'flac';
  if (ascii(0, 3) === 'ID3' || (b.length >= 2 && b[0] === 0xff && ((b[1] ?? 0) & 0xe0) === 0xe0))
    return 'mp3';
  if (b.length >= 4 && b.readUInt32BE(0) === 0x3026b275) return 'asf';
  if (b.length >= 8 && b.readUInt32BE(0) === 0x89504e47) return 'image'; // PNG
  if (b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'image'; // JPEG
  if (ascii(0, 4) === 'GIF8' || ascii(0, 2) === 'BM' || (ascii(0, 4) === 'RIFF' && ascii(8, 4) === 'WEBP'))
    return 'image';
  if (ascii(0, 4) === 'II*\0' || ascii(0, 4) === 'MM\0*') return 'image';
  if (looksLikeText(b)) return 'text';
  return 'unknown';
}

function looksLikeText(b: Buffer): boolean {
  let printable = 0;
  for (const c of b) {
    if (c === 0) return false;
    if (c === 9 || c === 10 || c === 13 || (c >= 32 && c < 127) || c >= 128) printable++;
  }
  return printable / b.length > 0.95;
}
