import { afterEach, describe, expect, it, vi } from "vitest";
import { setLocale } from "@/i18n";
import { localizedProblem } from "@/logic/problems";

/** What the service writes in a 422 (FluentValidation's defaults, with the JSON names of fields, and its own rules). */
const SAID = [
  "validation failed",
  "invalid parameters",
  "'username' must not be empty.",
  "'max_concurrent_tasks' must be between 1 and 100. You entered 0.",
  "'name' must be between 1 and 100 characters. You entered 0 characters.",
  "The length of 'host' must be 255 characters or fewer. You entered 300 characters.",
  "The length of 'new_password' must be at least 8 characters. You entered 5 characters.",
  "'page_size' must be greater than or equal to '1'.",
  "'email' is not a valid email address.",
  "passwords do not match",
  "default_timeout must be between 10 and 86400 seconds",
  "database must be a plain schema name (letters, digits, _ and $)",
];

vi.stubGlobal("fetch", async () =>
  new Response(
    JSON.stringify({
      code: 3001,
      message: "validation failed",
      detail: [
        { field: "max_concurrent_tasks", message: "'max_concurrent_tasks' must be between 1 and 100. You entered 0." },
        { field: "parameters.symbol", message: "symbol is not a 6-digit A-share code" },
      ],
    }),
    { status: 422, headers: { "Content-Type": "application/json" } },
  ),
);
const { api, call, ApiProblem } = await import("@/api");

afterEach(() => setLocale("zh"));

describe("the API's validation messages", () => {
  it("are in Chinese for the wordings the console knows", () => {
    expect(localizedProblem("validation failed", "zh")).toBe("校验失败");
    expect(localizedProblem("'max_concurrent_tasks' must be between 1 and 100. You entered 0.", "zh")).toBe("'max_concurrent_tasks' 须在 1 到 100 之间，输入的是 0。");
    expect(localizedProblem("'name' must be between 1 and 100 characters. You entered 0 characters.", "zh")).toBe("'name' 的长度须在 1 到 100 个字符之间，输入了 0 个字符。");
    expect(localizedProblem("The length of 'new_password' must be at least 8 characters. You entered 5 characters.", "zh")).toBe("'new_password' 的长度至少为 8 个字符，输入了 5 个字符。");
    expect(localizedProblem("'username' must not be empty.", "zh")).toBe("'username' 不能为空。");
    expect(localizedProblem("passwords do not match", "zh")).toBe("两次输入的密码不一致");
    expect(localizedProblem("database must be a plain schema name (letters, digits, _ and $)", "zh")).toBe("数据库须为普通的库名（字母、数字、_ 和 $）");
    for (const text of SAID) expect(localizedProblem(text, "zh"), text).not.toBe(text);
  });

  it("read in English exactly as the service wrote them", () => {
    for (const text of SAID) expect(localizedProblem(text, "en")).toBe(text);
  });

  it("that the console does not know are shown as the service wrote them", () => {
    expect(localizedProblem("symbol is not a 6-digit A-share code", "zh")).toBe("symbol is not a 6-digit A-share code");
    expect(localizedProblem("'x' must be between 1 and 2", "zh")).toBe("'x' must be between 1 and 2");
  });

  it("a 422 answer's message and its fields' messages come in the language chosen", async () => {
    setLocale("zh");
    const zh = await call(api.PUT("/api/settings", { body: { max_concurrent_tasks: 0 } })).catch((e: unknown) => e);
    expect(zh).toBeInstanceOf(ApiProblem);
    const problem = zh as InstanceType<typeof ApiProblem>;
    expect(problem.message).toBe("校验失败");
    expect(problem.fieldMessage("max_concurrent_tasks")).toBe("'max_concurrent_tasks' 须在 1 到 100 之间，输入的是 0。");
    expect(problem.fieldMessage("parameters.symbol")).toBe("symbol is not a 6-digit A-share code");

    setLocale("en");
    const en = (await call(api.PUT("/api/settings", { body: { max_concurrent_tasks: 0 } })).catch((e: unknown) => e)) as InstanceType<typeof ApiProblem>;
    expect(en.message).toBe("validation failed");
    expect(en.fieldMessage("max_concurrent_tasks")).toBe("'max_concurrent_tasks' must be between 1 and 100. You entered 0.");
  });
});
