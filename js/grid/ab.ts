// The A/B view of two picked results: a wipe (a slider moves the divider between A on
// the left and B on the right), a flicker toggle (A and B in turn, in the same place),
// and the difference heatmap Python computes (black = equal, pale yellow = most changed).
import { h, setChildren } from "../shared/dom";
import { type Context, labelsOf, resultIndex, watch } from "./context";
import { cellName, percent, wipeClip } from "./layout";

const AB_EDGE = 768;
const FLICKER_MS = 500;

export function abPanel(ctx: Context): HTMLElement {
  const { model, images, picks, cleanups } = ctx;
  const title = h("h3", {}, "A/B");
  const names = h("p", { class: "afg-ab-names", "data-testid": "grid-ab-names" });
  const swap = h("button", { type: "button", "data-testid": "grid-ab-swap", "aria-label": "Swap A and B" }, "Swap");
  const close = h("button", { type: "button", class: "afg-icon", "data-testid": "grid-ab-close", "aria-label": "Close the A/B view" }, "✕");
  const imageA = h("img", { class: "afg-ab-a", "data-testid": "grid-ab-a", alt: "A" });
  const imageB = h("img", { class: "afg-ab-b", "data-testid": "grid-ab-b", alt: "B" });
  const divider = h("div", { class: "afg-ab-divider", "aria-hidden": "true" });
  const stageLabel = h("span", { class: "afg-ab-showing", "data-testid": "grid-ab-showing", "aria-live": "polite" });
  const stage = h("div", { class: "afg-ab-stage", "data-testid": "grid-ab-stage" }, imageA, imageB, divider, stageLabel);
  const wipe = h("input", { type: "range", min: 0, max: 100, step: 1, value: 50, "data-testid": "grid-ab-wipe", "aria-label": "Wipe: A left of the divider, B right of it" });
  const flicker = h("button", { type: "button", "data-testid": "grid-ab-flicker", "aria-pressed": "false", "aria-label": "Flicker between A and B" }, "Flicker");
  const heatmap = h("img", { class: "afg-heatmap", "data-testid": "grid-ab-heatmap", alt: "Difference heatmap of A and B: black where equal, yellow where most changed" });
  const mean = h("figcaption", { "data-testid": "grid-ab-mean" }, "computing the difference…");
  const panel = h(
    "section",
    { class: "afg-panel afg-ab", "data-testid": "grid-ab", "aria-label": "A/B comparison", hidden: true },
    h("div", { class: "afg-panel-head" }, title, names, swap, close),
    h(
      "div",
      { class: "afg-ab-body" },
      h("figure", { class: "afg-ab-figure" }, stage, h("div", { class: "afg-ab-controls" }, h("label", { class: "afg-wipe-label" }, "Wipe ", wipe), flicker)),
      h("figure", { class: "afg-ab-figure", "data-testid": "grid-ab-difference" }, h("div", { class: "afg-heat-stage" }, heatmap), mean),
    ),
  );

  let flickerTimer: ReturnType<typeof setInterval> | null = null;
  let showingB = false;
  const stopFlicker = () => {
    if (flickerTimer !== null) clearInterval(flickerTimer);
    flickerTimer = null;
    flicker.setAttribute("aria-pressed", "false");
    wipe.disabled = false;
    applyWipe();
  };
  cleanups.add(stopFlicker);
  const applyWipe = () => {
    const position = Number(wipe.value);
    imageB.style.clipPath = wipeClip(position);
    imageB.style.visibility = "visible";
    divider.style.left = `${position}%`;
    divider.hidden = false;
    stageLabel.textContent = "A | B";
  };
  const showOne = () => {
    imageB.style.clipPath = "none";
    imageB.style.visibility = showingB ? "visible" : "hidden";
    divider.hidden = true;
    stageLabel.textContent = showingB ? "B" : "A";
  };
  cleanups.listen(wipe, "input", applyWipe);
  cleanups.listen(flicker, "click", () => {
    if (flickerTimer !== null) return stopFlicker();
    flicker.setAttribute("aria-pressed", "true");
    wipe.disabled = true;
    showingB = false;
    showOne();
    flickerTimer = setInterval(() => {
      showingB = !showingB;
      showOne();
    }, FLICKER_MS);
  });
  cleanups.listen(swap, "click", () => picks.set([...picks.get()].reverse()));
  cleanups.listen(close, "click", () => picks.set([]));

  const render = () => {
    const chosen = picks.get();
    const where = resultIndex(model);
    if (chosen.length !== 2 || !where.has(chosen[0]) || !where.has(chosen[1])) {
      images.hold(panel, []);
      panel.hidden = true;
      stopFlicker();
      return;
    }
    panel.hidden = false;
    const [a, b] = chosen;
    images.hold(panel, [[a, AB_EDGE], [b, AB_EDGE]]); // the picks may be paged out of the table: these two stay
    const describe = (id: string) => {
      const { cell, repeat } = where.get(id)!;
      return `${cellName(labelsOf(model, cell))}${(model.get("repeats") ?? 1) > 1 ? ` #${repeat + 1}` : ""}`;
    };
    setChildren(names, h("span", { class: "afg-tag" }, "A"), ` ${describe(a)}  `, h("span", { class: "afg-tag" }, "B"), ` ${describe(b)}`);
    imageA.alt = `A: ${describe(a)}`;
    imageB.alt = `B: ${describe(b)}`;
    for (const [img, id] of [[imageA, a], [imageB, b]] as const) {
      const picture = images.bestPicture(id, AB_EDGE);
      if (!images.picture(id, AB_EDGE)) images.want(id, AB_EDGE);
      if (picture && img.getAttribute("src") !== picture.url) img.src = picture.url;
      if (img === imageA && picture) stage.style.aspectRatio = `${picture.size[0]} / ${picture.size[1]}`;
    }
    const difference = images.difference(a, b);
    if (!difference) images.wantDifference(a, b);
    panel.dataset.state = difference ? "ready" : "loading";
    if (difference) {
      if (heatmap.getAttribute("src") !== difference.url) heatmap.src = difference.url;
      heatmap.hidden = false;
      mean.textContent = `mean absolute difference ${percent(difference.mean)}`;
    } else {
      heatmap.hidden = true;
      mean.textContent = "computing the difference…";
    }
    if (flickerTimer === null) applyWipe();
  };
  cleanups.add(picks.subscribe(() => {
    render();
    if (!panel.hidden) panel.scrollIntoView?.({ block: "nearest", behavior: "smooth" });
  }));
  cleanups.add(images.subscribe(render));
  cleanups.add(() => images.hold(panel, []));
  watch(model, ["results", "cells"], () => {
    picks.retain(new Set(resultIndex(model).keys()));
    render();
  }, cleanups);
  return panel;
}
