// Runs just the `upload` command, for its tests while cli.ts does not register it yet:
//   node --import tsx apps/server/src/commands/run-upload.ts upload FILE…
import { Command } from 'commander';
import { registerUploadCommand } from './upload';

const program = new Command().name('vodcloud');
registerUploadCommand(program);
await program.parseAsync(process.argv);
