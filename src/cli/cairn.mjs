#!/usr/bin/env node
// The `cairn` executable: TypeScript sources run through tsx, so there is no build step between a change and a run.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./main.ts');
process.exitCode = await main(process.argv);
