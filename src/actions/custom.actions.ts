import { CairnError, ErrorCategory } from '../../domain/errors.ts';
import { AnyKind } from './action.ts';
import { ActionErrorCode } from './actionErrors.ts';
import { defineAction } from './actionParams.ts';

const refusal = () =>
  new CairnError(
    ActionErrorCode.Unsafe,
    ErrorCategory.Validation,
    'type: a Custom action is free text that Cairn cannot check, so it never runs one; a person must do it',
    { details: { param: 'type' } },
  );

/** Exists so a plan naming it gets a clear refusal rather than "unknown action". */
export const customAction = defineAction({
  type: 'Custom',
  targetKinds: [AnyKind],
  destructive: true,
  describe: 'A free-form step for a person to carry out; Cairn always refuses to execute it.',
  params: {
    description: { description: 'what the person should do' },
    command: { description: 'a command the person might run' },
  },
  validate: () => {
    throw refusal();
  },
  execute: () => Promise.reject(refusal()),
});
