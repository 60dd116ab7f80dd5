#!/usr/bin/env node
/**
 * Entry point of the `cloudlet` command: runs the command tree on this
 * process's arguments and stdio, then exits with the command's code.
 */
import { readFileSync } from 'node:fs';
import { runCli } from './program.js';

const code = await runCli(process.argv.slice(2), {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
  readStdin: () => readFileSync(0, 'utf8'),
  env: process.env,
});
// Exit once both streams have drained: open keep-alive connections must not hold the process.
process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
