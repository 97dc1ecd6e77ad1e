import * as vscode from 'vscode';
import type { DockerEngine, ExecTerminal } from '../hosts/docker';
import { DockerFailure } from '../hosts/docker';

/** bash when the image has it, else sh: a fixed line, nothing of the user's in it. */
const SHELL = ['sh', '-c', 'if command -v bash >/dev/null; then exec bash -l; else exec sh -l; fi'];

/** A VS Code terminal running a shell in the session's container (`docker exec -it`, over SSH for remote hosts). */
export function openSessionTerminal(name: string, docker: DockerEngine, containerId: string): vscode.Terminal {
  const write = new vscode.EventEmitter<string>();
  const close = new vscode.EventEmitter<number | void>();
  let exec: ExecTerminal | undefined;
  let pending: vscode.TerminalDimensions | undefined;
  let ended = false;
  const pty: vscode.Pseudoterminal = {
    onDidWrite: write.event,
    onDidClose: close.event,
    open: (dimensions) => {
      docker.execTerminal(containerId, SHELL, dimensions?.columns ?? 80, dimensions?.rows ?? 24).then(
        (opened) => {
          exec = opened;
          if (pending) void opened.resize(pending.columns, pending.rows);
          opened.stream.on('data', (chunk: Buffer) => write.fire(chunk.toString('utf8')));
          opened.stream.on(
            'end',
            () =>
              void opened
                .exitCode()
                .then(
                  (code) => code,
                  () => null,
                )
                .then((code) => {
                  if (code === 0) return close.fire();
                  // Killed with its container (a stopped session) or failed: say so, and close on the next key.
                  ended = true;
                  write.fire(
                    `\r\n[${code === null || code >= 128 ? "the session's shell was stopped" : `the shell exited with code ${code}`}: press any key to close]\r\n`,
                  );
                }),
          );
        },
        (error: unknown) => {
          write.fire(`\r\n${error instanceof DockerFailure ? error.failure.message : String(error)}\r\n`);
          close.fire(1);
        },
      );
    },
    close: () => exec?.stream.end(),
    handleInput: (data) => (ended ? close.fire() : void exec?.stream.write(data)),
    setDimensions: (dimensions) => {
      pending = dimensions;
      void exec?.resize(dimensions.columns, dimensions.rows);
    },
  };
  const terminal = vscode.window.createTerminal({
    name: `Cosplay: ${name}`,
    pty,
    iconPath: new vscode.ThemeIcon('vm'),
  });
  terminal.show();
  return terminal;
}
