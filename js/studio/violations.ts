// Violations are shown next to the control they concern. Each panel asks for a slot
// for its field(s); a violation whose field has no slot goes to the general slot by the
// run button, so none is ever dropped.
import { h, setChildren } from "../shared/dom";
import type { Violation } from "./types";

export class ViolationSlots {
  private slots = new Map<string, HTMLElement>();
  private current: Violation[] = [];
  readonly general: HTMLElement = h("div", { class: "afs-violations", "data-testid": "violations-general", "aria-live": "polite" });

  /** A (new) slot for `field`; a re-rendered control asks again and the old slot is dropped. */
  slot(field: string): HTMLElement {
    const element = h("div", { class: "afs-violations", "data-testid": `violations-${field}`, "data-field": field, "aria-live": "polite" });
    this.slots.set(field, element);
    this.render();
    return element;
  }

  update(violations: Violation[]): void {
    this.current = violations;
    this.render();
  }

  /** Whether the run button's `reason` ("field: message", from `run_blocked`) is already shown in the general slot beside it. */
  shownByTheRunButton(reason: string, violations: Violation[] = this.current): boolean {
    return violations.some((v) => !this.slots.has(v.field) && reason.startsWith(`${v.field}: ${v.message}`));
  }

  /** The violations of `field` right now (controls mark themselves invalid with it). */
  of(field: string): Violation[] {
    return this.current.filter((v) => v.field === field);
  }

  private render(): void {
    const byField = new Map<string, Violation[]>();
    for (const violation of this.current) {
      const field = this.slots.has(violation.field) ? violation.field : "";
      byField.set(field, [...(byField.get(field) ?? []), violation]);
    }
    for (const [field, element] of this.slots) setChildren(element, ...(byField.get(field) ?? []).map(item));
    setChildren(this.general, ...(byField.get("") ?? []).map(item));
  }
}

function item(violation: Violation): HTMLElement {
  return h(
    "p",
    { class: "afs-violation", role: "alert", "data-testid": "violation", "data-field": violation.field, "data-rule": violation.rule },
    h("span", { class: "afs-violation-message" }, violation.message),
    violation.fix ? h("span", { class: "afs-violation-fix" }, ` Fix: ${violation.fix}`) : null,
  );
}
