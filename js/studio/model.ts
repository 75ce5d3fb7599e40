// Typed access to the anywidget model, with subscriptions that a view can undo.
export { watch } from "../shared/watch";
import type { Model, Traits } from "./types";

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
