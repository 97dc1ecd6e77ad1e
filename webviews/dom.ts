// DOM helpers for the webviews: nodes are built with textContent only, so nothing in a message can become markup.

declare function acquireVsCodeApi(): {
  postMessage(message: unknown): void;
  /** What VS Code hands the extension's serializer to restore the panel after a reload. */
  setState(state: unknown): void;
};
/** VS Code's webview API: acquired once per page. */
export const vscode = acquireVsCodeApi();

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  options: { text?: string; className?: string } = {},
  ...children: Node[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (options.text !== undefined) node.textContent = options.text;
  if (options.className) node.className = options.className;
  node.append(...children);
  return node;
}

export function icon(name: string): HTMLElement {
  return el('span', { className: `codicon codicon-${name}` });
}
