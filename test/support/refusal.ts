import { CairnError } from '../../domain/errors.ts';

/** The CairnError a promise is refused with; fails the test when it resolves or throws anything else. */
export async function refusalOf(promise: Promise<unknown>): Promise<CairnError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof CairnError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}
