import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import { formatSeconds, parseDuration, table } from './format';

describe('CLI formatting', () => {
  it('parses durations: units, combinations and plain seconds; refuses anything else', () => {
    expect(parseDuration('10m')).toBe(600_000);
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('1500ms')).toBe(1500);
    expect(parseDuration('2.5')).toBe(2500);
    for (const bad of ['', 'soon', '10x', '-5s', '0s', 'm10', '10m junk'])
      expect(() => parseDuration(bad), bad).toThrow(InvalidArgumentError);
  });

  it('formats seconds as m:ss or h:mm:ss', () => {
    expect(formatSeconds(4.04)).toBe('0:04');
    expect(formatSeconds(65)).toBe('1:05');
    expect(formatSeconds(3723)).toBe('1:02:03');
    expect(formatSeconds(null)).toBe('-');
  });

  it('aligns a table on a terminal and writes tab-separated lines in a pipe, cells cleaned', () => {
    const rows = [
      ['a1', 'short', 'ready'],
      ['b22', 'a title\twith a tab\nand a line break that is long', 'errored'],
    ];
    expect(table(['ID', 'TITLE', 'STATUS'], rows, true, { 1: 12 })).toBe(
      'ID   TITLE         STATUS\na1   short         ready\nb22  a title wit…  errored\n',
    );
    expect(table(['ID', 'TITLE', 'STATUS'], rows, false)).toBe(
      'a1\tshort\tready\nb22\ta title with a tab and a line break that is long\terrored\n',
    );
  });
});
