// The entry point of the production bundle (dist/cairn.mjs): the same as cairn.mjs, minus tsx, which the bundle
// no longer needs and which costs the operator tens of MB to keep loaded.
import { main } from './main.ts';

process.exitCode = await main(process.argv);
