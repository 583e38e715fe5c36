import { afterEach, describe, expect, it, vi } from "vitest";
import { flushPromises, mount } from "@vue/test-utils";
import type { Component } from "vue";
import { setLocale } from "@/i18n";

/** The preview asks the service; fetch is the service here, answering as it does. */
const calls: Array<{ url: string; body: Record<string, unknown> }> = [];
let answer: (body: Record<string, unknown>) => { status: number; json: unknown } = () => ({ status: 500, json: {} });
vi.stubGlobal("fetch", async (request: Request) => {
  const body = (await request.json()) as Record<string, unknown>;
  calls.push({ url: request.url, body });
  const { status, json } = answer(body);
  return new Response(JSON.stringify(json), { status, headers: { "Content-Type": "application/json" } });
});
// The generated client takes fetch when it is created: after the stub. Imported while the file is collected, not in a
// hook, so a slow transform on a loaded machine is not taken for a hung hook (vitest gives hooks 10 s).
const SchedulePreview: Component = (await import("@/components/SchedulePreview.vue")).default;

afterEach(() => {
  calls.length = 0;
  vi.useRealTimers();
});

const weekdays = ["2030-01-04T16:00:00+08:00", "2030-01-07T16:00:00+08:00", "2030-01-08T16:00:00+08:00", "2030-01-09T16:00:00+08:00", "2030-01-10T16:00:00+08:00"];

describe("the next fire times of a schedule", () => {
  it("asks the service for five and shows them in Beijing time with the weekday", async () => {
    setLocale("zh");
    answer = () => ({ status: 200, json: { code: 0, message: "success", data: { time_zone: "Asia/Shanghai", fire_times: weekdays } } });
    const wrapper = mount(SchedulePreview, { props: { type: "cron", expression: "0 16 * * 1-5", delayMs: 0 } });
    await vi.waitFor(() => expect(wrapper.findAll("li")).toHaveLength(5));
    expect(calls).toHaveLength(1);
    expect(new URL(calls[0]!.url).pathname).toBe("/api/tasks/preview-schedule");
    expect(calls[0]!.body).toEqual({ schedule_type: "cron", schedule_expression: "0 16 * * 1-5", count: 5 });
    const items = wrapper.findAll("li").map((li) => `${li.find("time").text()} ${li.find(".weekday").text()}`);
    expect(items[0]).toBe("2030-01-04 16:00:00 周五");
    expect(items[1]).toBe("2030-01-07 16:00:00 周一");
    expect(wrapper.find("time").attributes("datetime")).toBe(weekdays[0]);
    expect(wrapper.find("h4").text()).toBe("接下来 5 次触发（北京时间）");
  });

  it("the same instant shows as Beijing time in English too", async () => {
    setLocale("en");
    answer = () => ({ status: 200, json: { code: 0, message: "success", data: { time_zone: "Asia/Shanghai", fire_times: ["2030-01-04T08:00:00Z"] } } });
    const wrapper = mount(SchedulePreview, { props: { type: "once", expression: "2030-01-04T16:00:00", delayMs: 0 } });
    await vi.waitFor(() => expect(wrapper.findAll("li")).toHaveLength(1));
    expect(`${wrapper.find("time").text()} ${wrapper.find(".weekday").text()}`).toBe("2030-01-04 16:00:00 Fri");
  });

  it("shows the service's message for a schedule it refuses, and tells the editor", async () => {
    setLocale("en");
    answer = () => ({
      status: 422,
      json: { code: 3001, message: "validation failed", detail: [{ field: "schedule_expression", message: "a cron expression has 5 fields (minute hour day-of-month month day-of-week), this one has 4" }] },
    });
    const wrapper = mount(SchedulePreview, { props: { type: "cron", expression: "0 16 * *", delayMs: 0 } });
    await vi.waitFor(() => expect(wrapper.find("[role=alert]").exists()).toBe(true));
    expect(wrapper.find("[role=alert]").text()).toBe("Cannot preview: a cron expression has 5 fields (minute hour day-of-month month day-of-week), this one has 4");
    expect(wrapper.findAll("li")).toHaveLength(0);
    expect(wrapper.emitted("problem")!.at(-1)).toEqual(["a cron expression has 5 fields (minute hour day-of-month month day-of-week), this one has 4"]);
  });

  it("asks once per pause in typing, for the last expression", async () => {
    vi.useFakeTimers();
    answer = (body) => ({ status: 200, json: { code: 0, message: "success", data: { time_zone: "Asia/Shanghai", fire_times: body["schedule_expression"] === "0 9 * * *" ? weekdays.slice(0, 1) : [] } } });
    const wrapper = mount(SchedulePreview, { props: { type: "cron", expression: "0", delayMs: 300 } });
    for (const typed of ["0 ", "0 9", "0 9 * * *"]) {
      await wrapper.setProps({ expression: typed });
      vi.advanceTimersByTime(100);
    }
    expect(calls).toHaveLength(0);
    vi.advanceTimersByTime(300);
    vi.useRealTimers();
    await flushPromises();
    await vi.waitFor(() => expect(wrapper.findAll("li")).toHaveLength(1));
    expect(calls.map((c) => c.body["schedule_expression"])).toEqual(["0 9 * * *"]);
  });

  it("says nothing and asks nothing without an expression", async () => {
    setLocale("en");
    const wrapper = mount(SchedulePreview, { props: { type: "cron", expression: "  ", delayMs: 0 } });
    await flushPromises();
    await new Promise((r) => setTimeout(r, 10));
    expect(calls).toHaveLength(0);
    expect(wrapper.text()).toContain("Shown once there is an expression");
  });
});
