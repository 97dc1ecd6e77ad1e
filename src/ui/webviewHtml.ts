import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';

/** Where webviews may load from: our bundles and our media, nothing else. */
export function webviewOptions(extensionUri: vscode.Uri): vscode.WebviewPanelOptions & vscode.WebviewOptions {
  return {
    enableScripts: true,
    localResourceRoots: [
      vscode.Uri.joinPath(extensionUri, 'dist', 'webviews'),
      vscode.Uri.joinPath(extensionUri, 'media'),
    ],
  };
}

/**
 * A webview page: a CSP allowing only our own styles and fonts and one script carrying a fresh
 * nonce; `styles` are files of media/ and dist/webviews/, `script` a bundle of dist/webviews/.
 */
export function webviewHtml(
  webview: vscode.Webview,
  extensionUri: vscode.Uri,
  page: { title: string; script: string; styles: readonly string[] },
): string {
  const nonce = randomBytes(16).toString('base64');
  const asset = (file: string) =>
    webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, ...file.split('/'))).toString();
  const csp = [
    "default-src 'none'",
    `style-src ${webview.cspSource}`,
    `font-src ${webview.cspSource}`,
    `img-src ${webview.cspSource} data:`,
    `script-src 'nonce-${nonce}'`,
  ].join('; ');
  const links = ['dist/webviews/codicon.css', 'media/webview.css', ...page.styles].map(
    (file) => `<link rel="stylesheet" href="${asset(file)}">`,
  );
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
${links.join('\n')}
<title>${page.title.replace(/[<&>"]/g, '')}</title>
</head>
<body>
<p>Loading…</p>
<script nonce="${nonce}" src="${asset(`dist/webviews/${page.script}`)}"></script>
</body>
</html>`;
}

/**
 * What a panel VS Code brings back after a reload showed (its webview keeps `{ view }`), the panel
 * allowed our pages again; undefined, the panel closed, when that is not a view of `schema` or one such
 * panel is open already (`taken`).
 */
export function restoredView<T>(
  panel: vscode.WebviewPanel,
  extensionUri: vscode.Uri,
  state: unknown,
  schema: { safeParse(value: unknown): { success: true; data: T } | { success: false } },
  taken: boolean,
): T | undefined {
  const shown = schema.safeParse((state as { view?: unknown } | undefined)?.view);
  if (!shown.success || taken) return void panel.dispose();
  panel.webview.options = webviewOptions(extensionUri);
  return shown.data;
}
