// Pictures from Python, by result id: asked for in batches (`thumbs` messages), answered
// with binary buffers, kept as object URLs while something shows them. One cache per
// model, shared by all of its views, so a second view or a re-render shows them at once
// without asking again. What each panel shows is its `hold`: a picture no panel of any
// view holds is released (its object URL revoked), and an answer nobody holds any more
// (paged away before it came) is dropped, so a big grid keeps only the pictures in view.
// The difference heatmaps of A/B pairs are kept here too.
import { toBlob } from "../shared/bytes";
import type { DifferenceMessage, GridModel, PythonMessage, ThumbsMessage } from "./types";

export type Picture = { url: string; size: [number, number] };
export type Difference = { url: string; mean: number; size: [number, number] };

const ASK_AGAIN_MS = 30_000; // an answer lost (kernel restarted, message dropped) is asked for again
const BATCH = 48;

const pictureKey = (id: string, edge: number) => `${edge}:${id}`;
const pairKey = (a: string, b: string) => `${a}|${b}`;

export class ImageCache {
  private pictures = new Map<string, Map<number, Picture>>(); // id -> edge -> picture
  private differences = new Map<string, Difference>();
  private asked = new Map<string, number>(); // key -> when
  private queue = new Map<number, Set<string>>(); // edge -> ids
  private flushing = false;
  private listeners = new Set<() => void>();
  private holds = new Map<object, Set<string>>(); // holder (a panel of a view) -> the picture keys it shows

  constructor(private model: GridModel) {
    model.on("msg:custom", this.onMessage);
  }

  picture(id: string, edge: number): Picture | undefined {
    return this.pictures.get(id)?.get(edge);
  }

  /** The best picture already here for `id`: at `edge`, else the largest smaller one, else the smallest larger one. */
  bestPicture(id: string, edge: number): Picture | undefined {
    const sizes = this.pictures.get(id);
    if (!sizes) return undefined;
    const edges = [...sizes.keys()].sort((a, b) => a - b);
    const below = edges.filter((e) => e <= edge);
    return sizes.get(below.length ? below[below.length - 1] : edges[0]);
  }

  difference(a: string, b: string): Difference | undefined {
    return this.differences.get(pairKey(a, b));
  }

  /** Ask Python for `id` at `edge` unless it is here or on its way; the batch goes out after this task. */
  want(id: string, edge: number): void {
    const key = pictureKey(id, edge);
    if (this.picture(id, edge)) return;
    const when = this.asked.get(key);
    if (when !== undefined && Date.now() - when < ASK_AGAIN_MS) return;
    this.asked.set(key, Date.now());
    let ids = this.queue.get(edge);
    if (!ids) this.queue.set(edge, (ids = new Set()));
    ids.add(id);
    if (!this.flushing) {
      this.flushing = true;
      setTimeout(() => this.flush(), 0);
    }
  }

  wantDifference(a: string, b: string): void {
    const key = `diff:${pairKey(a, b)}`;
    if (this.differences.has(pairKey(a, b))) return;
    const when = this.asked.get(key);
    if (when !== undefined && Date.now() - when < ASK_AGAIN_MS) return;
    this.asked.set(key, Date.now());
    this.model.send({ type: "difference", a, b });
  }

  /** What `holder` shows now, as [id, edge] pairs (replacing what it held): every picture no holder holds is released. */
  hold(holder: object, pictures: Iterable<readonly [string, number]>): void {
    const keys = new Set<string>();
    for (const [id, edge] of pictures) keys.add(pictureKey(id, edge));
    if (keys.size) this.holds.set(holder, keys);
    else this.holds.delete(holder);
    this.release();
  }

  /** The number of pictures kept (as object URLs). */
  get size(): number {
    let n = 0;
    for (const sizes of this.pictures.values()) n += sizes.size;
    return n;
  }

  private held(key: string): boolean {
    for (const keys of this.holds.values()) if (keys.has(key)) return true;
    return false;
  }

  private release(): void {
    for (const [id, sizes] of this.pictures) {
      for (const [edge, picture] of sizes) {
        if (this.held(pictureKey(id, edge))) continue;
        URL.revokeObjectURL(picture.url);
        sizes.delete(edge);
      }
      if (!sizes.size) this.pictures.delete(id);
    }
  }

  /** Call `fn` whenever pictures arrive; returns the unsubscribe. */
  subscribe(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private flush(): void {
    this.flushing = false;
    for (const [edge, ids] of this.queue) {
      const all = [...ids];
      for (let i = 0; i < all.length; i += BATCH) this.model.send({ type: "thumbs", ids: all.slice(i, i + BATCH), edge });
    }
    this.queue.clear();
  }

  private onMessage = (content: unknown, buffers: DataView[]) => {
    const message = content as PythonMessage | null;
    if (!message || typeof message !== "object") return;
    if (message.type === "thumbs") this.storeThumbs(message, buffers);
    else if (message.type === "difference") this.storeDifference(message, buffers);
    else return;
    this.listeners.forEach((fn) => fn());
  };

  private storeThumbs(message: ThumbsMessage, buffers: DataView[]): void {
    message.items.forEach((item, i) => {
      const key = pictureKey(item.id, message.edge);
      const blob = toBlob(buffers?.[i], item.mime);
      this.asked.delete(key);
      if (!blob || this.picture(item.id, message.edge) || !this.held(key)) return; // nobody shows it any more
      let sizes = this.pictures.get(item.id);
      if (!sizes) this.pictures.set(item.id, (sizes = new Map()));
      sizes.set(message.edge, { url: URL.createObjectURL(blob), size: item.size });
    });
    for (const id of message.missing ?? []) this.asked.set(pictureKey(id, message.edge), Date.now()); // not asked again for a while
  }

  private storeDifference(message: DifferenceMessage, buffers: DataView[]): void {
    const key = pairKey(message.a, message.b);
    this.asked.delete(`diff:${key}`);
    const blob = toBlob(buffers?.[0], message.mime);
    if (blob && !this.differences.has(key)) this.differences.set(key, { url: URL.createObjectURL(blob), mean: message.mean, size: message.size });
  }
}

// anywidget hands each view (and `initialize`) its own proxy of the model, so the cache is
// made in `initialize` (once per model; its message listener lives as long as the model) and
// found again by the grid's id. Two widgets of one grid may share it: pictures are keyed by
// result id, and either widget's Python side answers for the same results.
const caches = new Map<string, ImageCache>();

/** Make the cache of `model` (from `initialize`); a later model of the same grid replaces it. */
export function createImageCache(model: GridModel): ImageCache {
  const cache = new ImageCache(model);
  caches.set(model.get("grid_id") ?? "", cache);
  return cache;
}

/** The cache of `model`'s grid (made here if `initialize` did not run, as in hosts without it). */
export function imageCacheFor(model: GridModel): ImageCache {
  return caches.get(model.get("grid_id") ?? "") ?? createImageCache(model);
}
