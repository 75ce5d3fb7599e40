// The prompt, the parameter controls Python lists in `controls`, the variants count and
// the run button. Controls are rendered generically from their description; their values
// live in `params` (absent or null = the API's default).
import { Cleanups, h, setChildren } from "../shared/dom";
import { list, watch } from "./model";
import type { Control, Model, Params } from "./types";
import type { ViolationSlots } from "./violations";

const PROMPT_SAVE_DELAY_MS = 300;

/** Variants count from an input's text: an integer within 1..`most` (Python's limit). */
export function clampVariants(value: unknown, most: number): number {
  const n = Math.round(Number(value));
  return Number.isFinite(n) ? Math.min(most, Math.max(1, n)) : 1;
}

type Rendered = { element: HTMLElement; update: (params: Params) => void };

export function controlsPanel(model: Model, violations: ViolationSlots, cleanups: Cleanups, run: () => void): HTMLElement {
  // --- prompt: typed text goes to the model at once (other views follow), to Python after a pause
  const prompt = h("textarea", {
    id: uid("prompt"),
    class: "afs-prompt",
    rows: 4,
    "data-testid": "prompt",
    placeholder: "Describe the image, or the change to make (Ctrl+Enter runs)",
  });
  let promptTimer: ReturnType<typeof setTimeout> | undefined;
  const savePrompt = () => {
    clearTimeout(promptTimer);
    promptTimer = undefined;
    if (model.get("prompt") !== prompt.value) model.set("prompt", prompt.value);
    model.save_changes();
  };
  cleanups.add(() => {
    if (promptTimer !== undefined) savePrompt(); // do not lose the last words typed
  });
  // A prompt still waiting for its save goes first, so Python runs what is shown.
  const runNow = () => {
    if (promptTimer !== undefined) savePrompt();
    run();
  };
  cleanups.listen(prompt, "input", () => {
    model.set("prompt", prompt.value);
    clearTimeout(promptTimer);
    promptTimer = setTimeout(savePrompt, PROMPT_SAVE_DELAY_MS);
  });
  cleanups.listen(prompt, "blur", () => {
    if (promptTimer !== undefined) savePrompt();
  });
  cleanups.listen<KeyboardEvent>(prompt, "keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      if (!model.get("run_blocked") && !model.get("running")) runNow();
    }
  });
  watch(model, ["prompt"], () => {
    const value = model.get("prompt") ?? "";
    if (prompt.value !== value) prompt.value = value;
  }, cleanups);

  // --- parameter controls, rebuilt when Python changes the list (e.g. edits take other fields)
  const params = (): Params => ({ ...(model.get("params") ?? {}) });
  const setParam = (name: string, value: string | number | null) => {
    model.set("params", { ...params(), [name]: value });
    model.save_changes();
  };
  const grid = h("div", { class: "afs-params", "data-testid": "params" });
  let rendered: Rendered[] = [];
  const controlCleanups = new Cleanups(); // the listeners of the controls shown now
  cleanups.add(() => controlCleanups.run());
  watch(model, ["controls"], () => {
    controlCleanups.run();
    rendered = list(model, "controls").map((control) => renderControl(control, setParam, violations, controlCleanups));
    setChildren(grid, ...rendered.map((r) => r.element));
    for (const r of rendered) r.update(params());
  }, cleanups);
  // Violations change with the params; both repaint the values and the invalid marks.
  watch(model, ["params", "violations"], () => {
    for (const r of rendered) r.update(params());
  }, cleanups, false);

  // --- variants
  const mostVariants = () => model.get("limits")?.variants ?? 1;
  const variants = h("input", { id: uid("variants"), type: "number", min: 1, step: 1, "data-testid": "variants", class: "afs-number" });
  const variantsRange = h("span", { class: "afs-muted" });
  watch(model, ["variants", "limits"], () => {
    variants.max = String(mostVariants());
    variantsRange.textContent = ` requests sent at once (1–${mostVariants()})`;
    if (document.activeElement !== variants) variants.value = String(model.get("variants") ?? 1);
  }, cleanups);
  cleanups.listen(variants, "change", () => {
    const value = clampVariants(variants.value, mostVariants());
    variants.value = String(value);
    model.set("variants", value);
    model.save_changes();
  });

  // --- run
  const runButton = h("button", { type: "button", class: "afs-run", "data-testid": "run" }, "Generate");
  const blocked = h("span", { id: uid("blocked"), class: "afs-blocked", "data-testid": "run-blocked", "aria-live": "polite" });
  runButton.setAttribute("aria-describedby", blocked.id);
  cleanups.listen(runButton, "click", runNow);
  watch(model, ["endpoint", "run_blocked", "running", "violations"], () => {
    const edits = model.get("endpoint") === "edits";
    const reason = model.get("run_blocked") ?? "";
    const running = !!model.get("running");
    runButton.textContent = edits ? "Edit" : "Generate";
    runButton.dataset.endpoint = edits ? "edits" : "generations";
    runButton.disabled = running || reason !== "";
    runButton.title = reason || (running ? "A run is in progress" : edits ? "Send an edit request per variant" : "Send a generation request per variant");
    blocked.textContent = running ? "Running…" : reason;
    // A reason the violation right below the button already gives is not said twice (the button's title keeps it).
    blocked.hidden = !running && (!reason || violations.shownByTheRunButton(reason, list(model, "violations")));
    blocked.dataset.state = running ? "running" : "blocked"; // running is news, not an error

  }, cleanups);


  return h(
    "section",
    { class: "afs-panel afs-controls", "data-testid": "controls", "aria-label": "Prompt and settings" },
    h("label", { class: "afs-label", for: prompt.id }, "Prompt"),
    prompt,
    violations.slot("prompt"),
    grid,
    h(
      "div",
      { class: "afs-field" },
      h("label", { class: "afs-label", for: variants.id }, "Variants"),
      variants,
      variantsRange,
      violations.slot("variants"),
    ),
    h("div", { class: "afs-run-row" }, runButton, blocked),
    violations.general,
  );
}

/** One control from its description: a select, a size (presets + custom WxH) or an integer. */
function renderControl(
  control: Control,
  setParam: (name: string, value: string | number | null) => void,
  violations: ViolationSlots,
  cleanups: Cleanups,
): Rendered {
  const id = uid(`param-${control.name}`);
  const label = h("label", { class: "afs-label", for: id }, control.label || control.name);
  const help = control.help ? h("span", { class: "afs-help", id: `${id}-help` }, control.help) : null;
  const slot = violations.slot(control.name);
  const describedBy = help ? `${id}-help` : null;
  const hasDefault = !(control.default === null || control.default === undefined || control.default === "");
  const defaultText = control.auto ? `auto: ${control.auto}` : hasDefault ? `default (${control.default})` : "API default";

  if (control.kind === "int") {
    const input = h("input", {
      id,
      type: "number",
      step: 1,
      min: control.min ?? null,
      max: control.max ?? null,
      placeholder: hasDefault ? String(control.default) : "default",
      class: "afs-number",
      "data-testid": `param-${control.name}`,
      "aria-describedby": describedBy,
    });
    cleanups.listen(input, "change", () => {
      const text = input.value.trim();
      setParam(control.name, text === "" ? null : Math.round(Number(text)));
    });
    return {
      element: h("div", { class: "afs-field", "data-control": control.name }, label, input, help, slot),
      update: (params) => {
        const value = params[control.name];
        if (document.activeElement !== input) input.value = value === null || value === undefined ? "" : String(value);
        input.setAttribute("aria-invalid", String(violations.of(control.name).length > 0));
      },
    };
  }

  const CUSTOM = "\u0000custom";
  const options = control.options ?? [];
  const select = h(
    "select",
    { id, "data-testid": `param-${control.name}`, "aria-describedby": describedBy },
    h("option", { value: "" }, defaultText),
    ...options.map((option) => h("option", { value: option }, option)),
    control.kind === "size" ? h("option", { value: CUSTOM }, "custom…") : null,
  );
  const custom =
    control.kind === "size"
      ? h("input", {
          type: "text",
          class: "afs-size-custom",
          placeholder: "WxH, e.g. 1536x1024",
          "aria-label": `${control.label || control.name}: custom width x height in pixels`,
          "data-testid": `param-${control.name}-custom`,
          hidden: true,
          spellcheck: "false",
        })
      : null;
  let customMode = false;

  cleanups.listen(select, "change", () => {
    customMode = select.value === CUSTOM;
    if (custom) custom.hidden = !customMode;
    if (customMode && custom) {
      custom.focus();
      if (custom.value.trim()) setParam(control.name, custom.value.trim());
      return;
    }
    setParam(control.name, select.value === "" ? null : select.value);
  });
  if (custom) {
    const commitCustom = () => {
      // Python tidies a readable size ("1536 × 1024" -> "1536x1024") and judges the rest.
      const text = custom.value.trim();
      setParam(control.name, text === "" ? null : text);
    };
    cleanups.listen(custom, "change", commitCustom);
    cleanups.listen<KeyboardEvent>(custom, "keydown", (event) => {
      if (event.key === "Enter") {
        event.preventDefault();
        commitCustom();
      }
    });
  }

  return {
    element: h("div", { class: "afs-field", "data-control": control.name }, label, select, custom, help, slot),
    update: (params) => {
      const raw = params[control.name];
      const value = raw === null || raw === undefined ? "" : String(raw);
      const isPreset = value === "" || options.includes(value);
      if (custom && (customMode || !isPreset)) {
        select.value = CUSTOM;
        custom.hidden = false;
        if (document.activeElement !== custom && value !== "") custom.value = value;
      } else {
        select.value = isPreset ? value : "";
        if (custom) custom.hidden = true;
      }
      const invalid = String(violations.of(control.name).length > 0);
      select.setAttribute("aria-invalid", invalid);
      custom?.setAttribute("aria-invalid", invalid);
    },
  };
}

let counter = 0;
/** Unique ids, so labels point at their controls even with several studios on a page. */
function uid(name: string): string {
  counter += 1;
  return `afs-${name}-${counter}`;
}
