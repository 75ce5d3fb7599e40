// Typed access to the anywidget model, with subscriptions that a view can undo.
import type { AnyModel } from "@anywidget/types";
import type { Cleanups } from "./dom";
import type { Model, Traits } from "./types";

/**
 * Call `fn` now and whenever one of `names` changes; the subscription is removed with
 * the view's cleanups. Several names changing in one sync call `fn` once per change,
 * which is fine for the cheap renders this is used for.
 */
export function watch<T extends Record<string, any>>(
  model: AnyModel<T>,
  names: Array<keyof T>,
  fn: () => void,
  cleanups: Cleanups,
  now = true,
): void {
  for (const name of names) {
    const event = `change:${String(name)}`;
    model.on(event as never, fn);
    cleanups.add(() => model.off(event as never, fn));
  }
  if (now) fn();
}

/** Set several traits and send them to Python in one message. */
export function commit(model: Model, values: Partial<Traits>): void {
  for (const [name, value] of Object.entries(values)) {
    model.set(name as keyof Traits, value as never);
  }
  model.save_changes();
}

/** A list trait, never undefined (a trait can be missing while Python is still starting). */
export function list<K extends keyof Traits>(model: Model, name: K): Traits[K] extends Array<infer T> ? T[] : never {
  const value = model.get(name);
  return (Array.isArray(value) ? value : []) as never;
}
