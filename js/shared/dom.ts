// Small DOM helpers shared by the panels: an element builder and a bag of cleanups.

type Attrs = Record<string, string | number | boolean | null | undefined>;
type Child = Node | string | null | undefined | false;

/**
 * Create an element. Attributes named `on*` are not supported on purpose: listeners go
 * through `Cleanups.listen` so that every one of them is removed when the view goes.
 * A `false`/`null` attribute is left out; `true` sets it empty (boolean attributes).
 */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    if (name === "class") node.className = String(value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  append(node, children);
  return node;
}

export function append(parent: Node, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
  }
}

/** Replace all children of `parent`. */
export function setChildren(parent: Node, ...children: Child[]): void {
  while (parent.firstChild) parent.removeChild(parent.firstChild);
  append(parent, children);
}

/** Everything a view registered, undone in reverse order by `run()`. */
export class Cleanups {
  private items: Array<() => void> = [];

  add(fn: () => void): void {
    this.items.push(fn);
  }

  listen<E extends Event = Event>(
    target: EventTarget,
    type: string,
    handler: (event: E) => void,
    options?: AddEventListenerOptions | boolean,
  ): void {
    const listener = handler as EventListener;
    target.addEventListener(type, listener, options);
    this.add(() => target.removeEventListener(type, listener, options));
  }

  run(): void {
    const items = this.items.reverse();
    this.items = [];
    for (const fn of items) {
      try {
        fn();
      } catch (error) {
        console.error("anyfast-studio: cleanup failed", error);
      }
    }
  }
}

/** True when a key press is meant for a text field rather than for the studio's shortcuts. */
export function isTextEntry(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  if (target.isContentEditable || target instanceof HTMLTextAreaElement) return true;
  if (target instanceof HTMLInputElement) {
    return !["checkbox", "radio", "range", "button", "file", "submit", "reset", "color"].includes(target.type);
  }
  return target instanceof HTMLSelectElement;
}

/** A short human form of a duration in seconds: "3.2 s", "1 min 04 s". */
export function formatSeconds(seconds: number): string {
  const s = Math.max(0, seconds);
  if (s < 60) return `${s.toFixed(1)} s`;
  const minutes = Math.floor(s / 60);
  const rest = Math.floor(s - minutes * 60);
  return `${minutes} min ${String(rest).padStart(2, "0")} s`;
}
