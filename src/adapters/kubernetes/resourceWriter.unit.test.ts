import { ApiException } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { isPermanentWriteFailure, SERVER_ERROR_ATTEMPTS, writeFailure } from './resourceWriter.reactor.ts';

const refused = (code: number, message: string) =>
  new ApiException(code, `HTTP-Code: ${code}`, JSON.stringify({ kind: 'Status', message }), {});
const issue = { kind: 'Issue', namespace: 'shop', name: 'checkout-3f1a' };

describe('resource writer: which failures hold it and which are passed over', () => {
  it('names the object and says what the API server said', () => {
    const failure = writeFailure(issue, refused(500, 'failed to create typed patch object: duplicate entries'));
    expect(failure.message).toBe(
      'cannot write Issue shop/checkout-3f1a (HTTP 500): failed to create typed patch object: duplicate entries',
    );
    expect(failure).toMatchObject({ code: 'kubernetes.write_failed', category: 'Transient' });
    expect(failure.details).toEqual({ ...issue, status: 500 });
    expect(writeFailure(issue, refused(422, 'spec.riskScore: Invalid value')).category).toBe('Validation');
    expect(writeFailure(issue, new Error('connect ECONNREFUSED')).message).toBe(
      'cannot write Issue shop/checkout-3f1a: connect ECONNREFUSED',
    );
  });

  it('passes over a refused document at once, never a conflict, throttling or an unreachable server', () => {
    for (const code of [400, 403, 404, 422])
      expect(isPermanentWriteFailure(writeFailure(issue, refused(code, 'x')), 1)).toBe(true);
    for (const code of [409, 429, 503])
      expect(isPermanentWriteFailure(writeFailure(issue, refused(code, 'x')), 50)).toBe(false);
    expect(isPermanentWriteFailure(writeFailure(issue, new Error('socket hang up')), 50)).toBe(false);
  });

  it('passes over a 500 only once it has answered every try for the same object', () => {
    const failure = writeFailure(issue, refused(500, 'duplicate entries'));
    expect(isPermanentWriteFailure(failure, SERVER_ERROR_ATTEMPTS - 1)).toBe(false);
    expect(isPermanentWriteFailure(failure, SERVER_ERROR_ATTEMPTS)).toBe(true);
    expect(isPermanentWriteFailure(failure, 2, 2)).toBe(true);
  });
});
