import { describe, expect, it } from 'vitest';
import { formatMemoryBytes, parseMemoryBytes } from './memoryQuantity.ts';

describe('parseMemoryBytes', () => {
  it.each([
    ['128Mi', 128 * 2 ** 20],
    ['1Gi', 2 ** 30],
    ['1.5Gi', 1.5 * 2 ** 30],
    ['512Ki', 512 * 1024],
    ['500M', 500e6],
    ['2G', 2e9],
    ['100k', 1e5],
    ['1e9', 1e9],
    ['1048576', 2 ** 20],
    [' 64Mi ', 64 * 2 ** 20],
  ])('reads %s', (quantity, bytes) => {
    expect(parseMemoryBytes(quantity)).toBe(bytes);
  });

  it.each(['', 'lots', '12Qi', '-1Mi', 'Mi'])('refuses %j', (quantity) => {
    expect(parseMemoryBytes(quantity)).toBeUndefined();
  });

  it('passes undefined through', () => {
    expect(parseMemoryBytes(undefined)).toBeUndefined();
  });
});

describe('formatMemoryBytes', () => {
  it('writes whole Gi when it can and rounds anything else up to whole Mi', () => {
    expect(formatMemoryBytes(2 ** 31)).toBe('2Gi');
    expect(formatMemoryBytes(3 * 2 ** 30)).toBe('3Gi');
    expect(formatMemoryBytes(256 * 2 ** 20)).toBe('256Mi');
    expect(formatMemoryBytes(1e9)).toBe('954Mi');
    expect(formatMemoryBytes(1)).toBe('1Mi');
  });
});
