import { describe, expect, it } from "vitest";
import { budgetUsed } from "./spend";

describe("budgetUsed", () => {
  it("is the share of the budget spent", () => {
    expect(budgetUsed({ spent: 1.25, budget: 5 })).toBe(0.25);
  });
  it("is null without a budget, so no bar is drawn", () => {
    expect(budgetUsed({ spent: 3, budget: null })).toBeNull();
    expect(budgetUsed(undefined)).toBeNull();
  });
  it("stays within 0 and 1", () => {
    expect(budgetUsed({ spent: 7, budget: 5 })).toBe(1);
    expect(budgetUsed({ spent: 0, budget: 0 })).toBe(1);
  });
});
