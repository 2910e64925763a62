import { describe, expect, it } from 'vitest';
import { CairnError, ErrorCategory } from '../errors.ts';
import type { Command, Decider, Event } from '../messages.ts';
import { deciderSpec, deepEqual, metaAt, SpecificationError } from './decider.spec.ts';

// A toy decider so the helper's own failures can be shown to fail.
type Ack = Event<'IssueAcknowledged', { acknowledgedBy: string }>;
type Toy =
  | Command<'Ack', { by: string }>
  | Command<'Nothing', Record<string, never>>
  | Command<'Bad', Record<string, never>>;
const toy: Decider<number, Toy, Ack> = {
  initialState: () => 0,
  evolve: (count) => count + 1,
  decide: (command, count) => {
    if (command.type === 'Nothing') return [];
    if (command.type === 'Bad')
      return [{ type: 'IssueAcknowledged', data: { acknowledgedBy: '' }, metadata: command.metadata }];
    if (count > 0) throw new CairnError('toy.twice', ErrorCategory.IllegalState, 'already');
    return [{ type: 'IssueAcknowledged', data: { acknowledgedBy: command.data.by }, metadata: command.metadata }];
  },
};
const spec = deciderSpec(toy);
const ack = (by: string): Toy => ({ type: 'Ack', data: { by }, metadata: metaAt(0) });
const nothing: Toy = { type: 'Nothing', data: {}, metadata: metaAt(0) };

describe('deciderSpec', () => {
  it('passes when the events match, and fails with a diff when they do not', () => {
    spec
      .given()
      .when(ack('bob'))
      .expectEvents([{ type: 'IssueAcknowledged', data: { acknowledgedBy: 'bob' } }]);
    const failure = (() => {
      try {
        spec
          .given()
          .when(ack('bob'))
          .expectEvents([{ type: 'IssueAcknowledged', data: { acknowledgedBy: 'eve' } }]);
      } catch (error) {
        return error;
      }
    })();
    expect(failure).toBeInstanceOf(SpecificationError);
    expect(failure).toMatchObject({
      showDiff: true,
      actual: [{ type: 'IssueAcknowledged', data: { acknowledgedBy: 'bob' } }],
    });
  });

  it('fails expectRefusal when the command is accepted or refused for another reason', () => {
    expect(() => spec.given().when(ack('bob')).expectRefusal('toy.twice')).toThrow(SpecificationError);
    const history = spec.history(ack('bob'));
    expect(
      spec
        .given(...history)
        .when(ack('bob'))
        .expectRefusal('toy.twice').code,
    ).toBe('toy.twice');
    expect(() =>
      spec
        .given(...history)
        .when(ack('bob'))
        .expectRefusal('toy.other'),
    ).toThrow(/another reason/);
    expect(() =>
      spec
        .given(...history)
        .when(ack('bob'))
        .expectRefusal('toy.twice', ErrorCategory.Validation),
    ).toThrow(/another reason/);
  });

  it('fails expectNoEvents when something was decided', () => {
    spec.given().when(nothing).expectNoEvents();
    expect(() => spec.given().when(ack('bob')).expectNoEvents()).toThrow(SpecificationError);
  });

  it('refuses events the catalogue would refuse', () => {
    expect(() =>
      spec
        .given()
        .when({ type: 'Bad', data: {}, metadata: metaAt(0) })
        .events(),
    ).toThrow(/acknowledgedBy must not be empty/);
  });

  it('folds history into state', () => {
    expect(spec.given(...spec.history(ack('a'))).state()).toBe(1);
    expect(spec.given().when(ack('a')).stateAfter()).toBe(1);
  });

  it('compares plain data structurally, treating undefined fields as absent', () => {
    expect(deepEqual({ a: [1, { b: 2 }], c: undefined }, { a: [1, { b: 2 }] })).toBe(true);
    expect(deepEqual({ a: [1, 2] }, { a: [2, 1] })).toBe(false);
    expect(deepEqual([1], { 0: 1 })).toBe(false);
    expect(deepEqual({ a: 1 }, { b: 1 })).toBe(false);
  });
});
