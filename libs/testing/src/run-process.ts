import { spawn } from 'node:child_process';

/** What a finished process said and how it ended. */
export interface ProcessResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end with exactly `env` (nothing inherited), collecting its output: a CLI as a user's shell runs it. */
export function runProcess(file: string, args: readonly string[], options: { env: NodeJS.ProcessEnv; cwd: string }): Promise<ProcessResult> {
  return new Promise((done, fail) => {
    const child = spawn(file, args, { env: options.env, cwd: options.cwd });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', fail);
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}
