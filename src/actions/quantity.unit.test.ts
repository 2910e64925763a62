import { describe, expect, it } from 'vitest';
import { compareQuantities, isQuantity, parseQuantity } from './quantity.ts';

describe('Kubernetes quantities', () => {
  it.each([
    ['256Mi', 256 * 2 ** 20],
    ['1Gi', 2 ** 30],
    ['500m', 0.5],
    ['2', 2],
    ['1.5', 1.5],
    ['1e3', 1000],
    ['2G', 2e9],
    ['128974848', 128974848],
    ['.5', 0.5],
  ])('%s is %d base units', (text, value) => {
    expect(parseQuantity(text)).toBeCloseTo(value, 6);
  });

  it.each(['512MB', '-1Gi', 'lots', '', '1.2.3', 'Mi'])('refuses %j', (text) => {
    expect(isQuantity(text)).toBe(false);
  });

  it('compares across units', () => {
    expect(compareQuantities('1Gi', '1024Mi')).toBe(0);
    expect(compareQuantities('1Gi', '1073741824')).toBe(0);
    expect(compareQuantities('64Mi', '128Mi')).toBe(-1);
    expect(compareQuantities('1', '999m')).toBe(1);
    expect(compareQuantities('1G', '1Gi')).toBe(-1);
  });
});
