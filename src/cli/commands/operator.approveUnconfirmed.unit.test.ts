import { describe, expect, it } from 'vitest';
import { parseUnconfirmedSources } from './operator.command.ts';

describe('cairn operator --approve-unconfirmed', () => {
  it('takes sources, comma-separated, or none', () => {
    expect(parseUnconfirmedSources('manual, prometheus,manual')).toEqual(['manual', 'prometheus']);
    expect(parseUnconfirmedSources('none')).toEqual([]);
  });

  it('refuses the watcher, which is what confirms a signal, and unknown sources', () => {
    expect(() => parseUnconfirmedSources('manual,watcher')).toThrow(/watcher is what confirms a signal/);
    expect(() => parseUnconfirmedSources('rest')).toThrow('not "rest"');
  });
});
