import { describe, expect, it } from "vitest";
import { cell } from "@/logic/format";

describe("a cell of a table's preview, data page or sample", () => {
  it("shows a date without the midnight the API writes after it", () => {
    expect(cell("2024-01-02T00:00:00")).toBe("2024-01-02");
    expect(cell("2024-01-02T00:00:00.000")).toBe("2024-01-02");
    expect(cell("2024-01-02T00:00:00Z")).toBe("2024-01-02");
    expect(cell("2024-01-02")).toBe("2024-01-02");
  });

  it("keeps a time of day that is not midnight, and text that only looks like a date", () => {
    expect(cell("2024-01-02T09:30:00")).toBe("2024-01-02T09:30:00");
    expect(cell("2024-01-02T00:00:00+08:00")).toBe("2024-01-02T00:00:00+08:00");
    expect(cell("到期 2024-01-02T00:00:00")).toBe("到期 2024-01-02T00:00:00");
  });

  it("shows a double to 15 significant digits", () => {
    expect(cell(0.1 + 0.2)).toBe("0.3");
    expect(cell(1.1 * 3)).toBe("3.3");
    expect(cell(1.1 * 1.1)).toBe("1.21");
    expect(cell(-2.675)).toBe("-2.675");
    expect(cell(123456789.123456789)).toBe("123456789.123457");
    expect(cell(0.000012345678901234567)).toBe("0.0000123456789012346");
  });

  it("leaves whole numbers, text, null and objects as they were", () => {
    expect(cell(9007199254740991)).toBe("9007199254740991");
    expect(cell(0)).toBe("0");
    expect(cell(NaN)).toBe("NaN");
    expect(cell("000001")).toBe("000001");
    expect(cell(null)).toBe("");
    expect(cell(undefined)).toBe("");
    expect(cell(true)).toBe("true");
    expect(cell({ a: 1 })).toBe('{"a":1}');
  });
});
