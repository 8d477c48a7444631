import { describe, expect, it } from 'vitest';
import { bytesToGb, formatBytes, formatUptime, gbToBytes } from './format';

describe('the admin pages’ units', () => {
  it('reads a quota typed in GB (decimal, comma or point) as whole bytes, and refuses what is not a size', () => {
    expect(gbToBytes('50')).toBe(50_000_000_000);
    expect(gbToBytes(' 2.5 ')).toBe(2_500_000_000);
    expect(gbToBytes('2,5')).toBe(2_500_000_000);
    expect(gbToBytes('0.000000001')).toBe(1);
    expect(gbToBytes('0')).toBe(0);
    for (const bad of ['', ' ', '-1', 'ten', 'Infinity', '1e400']) expect(gbToBytes(bad)).toBeUndefined();
  });

  it('shows bytes back in GB for the input, and in a readable unit', () => {
    expect(bytesToGb(50_000_000_000)).toBe('50');
    expect(bytesToGb(2_500_000_000)).toBe('2.5');
    expect(bytesToGb(1_234_567_890)).toBe('1.235');
    expect(formatBytes(2_500_000_000, 'en')).toBe('2.5 GB');
    expect(formatBytes(999, 'en')).toBe('999 B');
    expect(formatBytes(1_500_000_000_000, 'en')).toBe('1.5 TB');
  });

  it('writes uptimes in the two largest units', () => {
    expect(formatUptime(45)).toBe('45 s');
    expect(formatUptime(125)).toBe('2 min');
    expect(formatUptime(7_500)).toBe('2 h 5 min');
    expect(formatUptime(2 * 86_400 + 3 * 3600)).toBe('2 d 3 h');
  });
});
