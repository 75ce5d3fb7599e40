import { describe, expect, it } from "vitest";
import { planText } from "./header";

describe("the plan's sentence", () => {
  it("says what a budget leaves unsent", () => {
    const text = planText({ requests: 6, to_send: 6, cost_to_send: 0.44, budget: 0.3, budget_left: 0.3, fit: 5, left_unsent: 1, counts: {} });
    expect(text).toBe("6 requests · 6 to send · about 0.44 to pay · budget 0.30: 0.30 left, 1 left unsent");
  });

  it("says nothing of a budget the grid does not have", () => {
    const text = planText({ requests: 2, to_send: 2, budget: null, budget_left: null, fit: 2, left_unsent: 0, counts: {} });
    expect(text).toBe("2 requests · 2 to send");
  });
});
