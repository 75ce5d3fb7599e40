// Blind A/B rating: two results from different cells side by side, their labels hidden;
// Left / Right / T (tie) / S (skip) on the keyboard or the buttons. Each rating goes to
// Python (`rate`, stored by grid.rate), which answers with the win rates per setting.
import { h, isTextEntry, setChildren } from "../shared/dom";
import { type Context, resultIndex, resultsOf, watch } from "./context";
import { type RatingAction, ratingKey } from "./keys";
import { percent } from "./layout";
import { pickRatingPair } from "./pairs";
import type { WinRate } from "./types";

const RATE_EDGE = 512;
const AXIS_NAME: Record<WinRate["axis"], string> = { page: "page", row: "row", column: "column" };

export function ratingPanel(ctx: Context): HTMLElement {
  const { model, images, cleanups } = ctx;
  const count = h("span", { class: "afg-muted", "data-testid": "grid-rate-count" });
  const left = h("img", { "data-testid": "grid-rate-left", alt: "Left image" });
  const right = h("img", { "data-testid": "grid-rate-right", alt: "Right image" });
  const empty = h("p", { class: "afg-empty", "data-testid": "grid-rate-empty" }, "Rating needs results in at least two cells.");
  const stage = h(
    "div",
    {
      class: "afg-rate-stage",
      tabindex: 0,
      "data-testid": "grid-rate-stage",
      role: "group",
      "aria-label": "Blind comparison: Left arrow if the left image is better, Right arrow for the right one, T for a tie, S to skip",
    },
    h("figure", {}, h("div", { class: "afg-rate-frame" }, left), h("figcaption", {}, "Left")),
    h("figure", {}, h("div", { class: "afg-rate-frame" }, right), h("figcaption", {}, "Right")),
  );
  const button = (action: RatingAction, text: string, label: string, testid: string) => {
    const b = h("button", { type: "button", "data-testid": testid, "aria-label": label, "data-action": action }, text);
    cleanups.listen(b, "click", () => act(action));
    return b;
  };
  const buttons = h(
    "div",
    { class: "afg-rate-buttons" },
    button("a", "← Left is better", "Left is better (Left arrow)", "grid-rate-a"),
    button("tie", "Tie (T)", "Tie (T)", "grid-rate-tie"),
    button("b", "Right is better →", "Right is better (Right arrow)", "grid-rate-b"),
    button("skip", "Skip (S)", "Skip this pair (S)", "grid-rate-skip"),
  );
  const rates = h("table", { class: "afg-winrates", "data-testid": "grid-winrates" });
  const ratesEmpty = h("p", { class: "afg-empty" }, "No ratings yet: the win rates per setting show here.");
  const panel = h(
    "details",
    { class: "afg-panel afg-rating", "data-testid": "grid-rating" },
    h("summary", {}, h("h3", {}, "Blind A/B rating"), " ", count),
    h("p", { class: "afg-muted" }, "Two results from different cells, labels hidden, sides at random. Keys: ← left, → right, T tie, S skip."),
    empty,
    stage,
    buttons,
    h("h4", {}, "Win rates per setting"),
    ratesEmpty,
    rates,
  );

  let pair: [string, string] | null = null;
  const next = () => {
    const candidates = resultsOf(model).map(([id, cell]) => ({ id, cell }));
    pair = pickRatingPair(candidates, model.get("ratings") ?? [], Math.random, pair);
    show();
  };
  const show = () => {
    const ready = pair !== null;
    empty.hidden = ready;
    stage.hidden = !ready;
    buttons.querySelectorAll("button").forEach((b) => ((b as HTMLButtonElement).disabled = !ready));
    images.hold(panel, pair && panel.open ? pair.map((id): [string, number] => [id, RATE_EDGE]) : []);
    if (!pair || !panel.open) return; // pictures are asked for once the panel is opened
    for (const [img, id] of [[left, pair[0]], [right, pair[1]]] as const) {
      const picture = images.bestPicture(id, RATE_EDGE);
      if (!images.picture(id, RATE_EDGE)) images.want(id, RATE_EDGE);
      if (picture && img.getAttribute("src") !== picture.url) img.src = picture.url;
      else if (!picture) img.removeAttribute("src");
      img.dataset.id = id; // for tests; no label is shown
    }
  };
  const act = (action: RatingAction) => {
    if (!pair) return;
    if (action !== "skip") model.send({ type: "rate", a: pair[0], b: pair[1], winner: action });
    next();
    stage.focus();
  };
  // Listened for on the window, capturing: Notebook 7 handles arrow keys on the document
  // before an output sees them (data-lm-suppress-shortcuts is not enough there).
  cleanups.listen<KeyboardEvent>(window, "keydown", (event) => {
    if (!(event.target instanceof Node) || !panel.contains(event.target)) return;
    if (isTextEntry(event.target) || !panel.open) return;
    const action = ratingKey(event);
    if (!action) return;
    event.preventDefault();
    event.stopPropagation();
    act(action);
  }, true);
  cleanups.listen(panel, "toggle", () => {
    if (panel.open) {
      if (!pair) next();
      else show();
      stage.focus();
    } else show(); // closed: its two pictures are let go
  });
  cleanups.add(images.subscribe(show));
  cleanups.add(() => images.hold(panel, []));

  const renderRates = () => {
    const list = model.get("win_rates") ?? [];
    const ratings = model.get("ratings") ?? [];
    count.textContent = ratings.length ? `(${ratings.length} rated)` : "";
    ratesEmpty.hidden = list.length > 0;
    rates.hidden = list.length === 0;
    const axes = model.get("axes");
    const axisName = (axis: WinRate["axis"]) => (axis === "row" ? axes?.rows?.name : axis === "column" ? axes?.cols?.name : axes?.pages?.name) ?? AXIS_NAME[axis];
    setChildren(
      rates,
      h("thead", {}, h("tr", {}, ...["axis", "setting", "compared", "wins", "ties", "win rate"].map((t) => h("th", { scope: "col" }, t)))),
      h(
        "tbody",
        {},
        ...list.map((r) =>
          h(
            "tr",
            { "data-testid": "grid-winrate", "data-axis": r.axis, "data-label": r.label },
            h("td", {}, axisName(r.axis)),
            h("th", { scope: "row" }, r.label),
            h("td", { class: "afg-num" }, String(r.comparisons)),
            h("td", { class: "afg-num" }, String(r.wins)),
            h("td", { class: "afg-num" }, String(r.ties)),
            h("td", { class: "afg-num" }, h("span", { class: "afg-bar", style: `--afg-bar: ${Math.round(r.win_rate * 100)}%` }), percent(r.win_rate, 0)),
          ),
        ),
      ),
    );
  };
  watch(model, ["win_rates", "ratings", "axes"], renderRates, cleanups);
  watch(model, ["results"], () => {
    if (!panel.open) return void (pair = null); // a new pair when it is opened
    const where = resultIndex(model);
    if (!pair || !where.has(pair[0]) || !where.has(pair[1])) next();
  }, cleanups);
  return panel;
}
