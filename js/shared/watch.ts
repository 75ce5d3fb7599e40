// Subscriptions to an anywidget model that a view can undo (every widget of the package uses them).
import type { AnyModel } from "@anywidget/types";
import type { Cleanups } from "./dom";

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
