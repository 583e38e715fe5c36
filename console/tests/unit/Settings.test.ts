import { describe, expect, it, vi } from "vitest";
import { flushPromises, mount } from "@vue/test-utils";
import type { Component } from "vue";
import { setLocale } from "@/i18n";

const settings = {
  max_concurrent_tasks: 5,
  default_timeout: 300,
  retry_enabled: true,
  max_retries: 3,
  user_max_running_jobs: 2,
  user_max_tasks: 50,
  user_min_schedule_minutes: 5,
  user_max_task_runs: 4,
  user_max_slots_percent: 50,
  user_max_parts_waiting: 20000,
  default_max_run_minutes: 360,
};
const location = { host: "127.0.0.1", port: 3306, database: "akshare", username: "ak" };
const status = { running: true, servers: 1, active_jobs: 2, processing_jobs: 0, enqueued_jobs: 0, scheduled_jobs: 1, next_run_time: null };

/** The service: each path answers when the test says so (a held answer is one the test resolves later). */
type Answer = { status: number; json: unknown };
const ok = (data: unknown): Answer => ({ status: 200, json: { code: 0, message: "success", data } });
let answers: Record<string, () => Promise<Answer>> = {};
const sent: Array<{ method: string; path: string; body: unknown }> = [];
vi.stubGlobal("fetch", async (request: Request) => {
  const path = new URL(request.url).pathname;
  const text = await request.text();
  sent.push({ method: request.method, path, body: text === "" ? null : JSON.parse(text) });
  const { status: code, json } = await (answers[`${request.method} ${path}`] ?? (async () => ({ status: 404, json: { code: 2001, message: "not found", detail: null } })))();
  return new Response(JSON.stringify(json), { status: code, headers: { "Content-Type": "application/json" } });
});
// The generated client takes fetch when it is created: after the stub.
const Settings: Component = (await import("@/views/Settings.vue")).default;

function held(): { answer: () => Promise<Answer>; release: (a: Answer) => void } {
  let release!: (a: Answer) => void;
  const promise = new Promise<Answer>((resolve) => (release = resolve));
  return { answer: () => promise, release };
}

const card = (wrapper: ReturnType<typeof mount>, name: string) => wrapper.find(`section[aria-label="${name}"]`);

describe("the settings page", () => {
  it("shows each card with its own answer: the execution settings while the scheduler's statistics are still coming", async () => {
    setLocale("en");
    const scheduler = held();
    answers = {
      "GET /api/settings": async () => ok(settings),
      "GET /api/settings/database": async () => ok(location),
      "GET /api/settings/scheduler": scheduler.answer,
    };
    const wrapper = mount(Settings);
    await vi.waitFor(() => expect(wrapper.find("#set-max_concurrent_tasks").exists()).toBe(true));
    expect(card(wrapper, "Scheduler").text()).toContain("Loading…");
    expect((wrapper.find("#wh-host").element as HTMLInputElement).value).toBe("127.0.0.1");

    scheduler.release(ok(status));
    await vi.waitFor(() => expect(card(wrapper, "Scheduler").find("dl").exists()).toBe(true));
    expect(card(wrapper, "Scheduler").text()).not.toContain("Loading…");
    wrapper.unmount();
  });

  it("a request that fails shows its error in its own card and hides none of the others", async () => {
    setLocale("en");
    answers = {
      "GET /api/settings": async () => ok(settings),
      "GET /api/settings/database": async () => ok(location),
      "GET /api/settings/scheduler": async () => ({ status: 500, json: { code: 5002, message: "the scheduler's storage did not answer", detail: null } }),
    };
    const wrapper = mount(Settings);
    await vi.waitFor(() => expect(card(wrapper, "Scheduler").find("[role=alert]").exists()).toBe(true));
    await flushPromises();
    expect(card(wrapper, "Scheduler").find("[role=alert]").text()).toBe("Could not be read: the scheduler's storage did not answer");
    expect(wrapper.find("#set-max_concurrent_tasks").exists()).toBe(true);
    expect(wrapper.find("#wh-host").exists()).toBe(true);
    expect(card(wrapper, "Execution settings").find("[role=alert]").exists()).toBe(false);
    wrapper.unmount();
  });

  it("shows and saves the users' limits, labelled in Chinese by default and in English", async () => {
    answers = {
      "GET /api/settings": async () => ok(settings),
      "GET /api/settings/database": async () => ok(location),
      "GET /api/settings/scheduler": async () => ok(status),
      "PUT /api/settings": async () => ok({ ...settings, user_max_task_runs: 7 }),
    };
    setLocale("zh");
    const wrapper = mount(Settings);
    await vi.waitFor(() => expect(wrapper.find("#set-user_max_task_runs").exists()).toBe(true));
    const label = (id: string) => wrapper.find(`label[for="${id}"]`).text();
    expect(label("set-user_max_task_runs")).toBe("任务同时排队或运行的执行数");
    expect(label("set-user_max_slots_percent")).toBe("手动运行可占并发槽位比例（%）");
    expect(label("set-user_max_parts_waiting")).toBe("分片执行最多等待的分片数");
    expect(label("set-default_max_run_minutes")).toBe("分片执行默认总时长上限（分钟，0 为不限）");
    expect((wrapper.find("#set-user_max_parts_waiting").element as HTMLInputElement).value).toBe("20000");
    setLocale("en");
    await flushPromises();
    expect(label("set-user_max_task_runs")).toBe("Task runs pending or running at once");
    expect(label("set-user_max_slots_percent")).toBe("Share of slots for manual runs (%)");
    expect(label("set-user_max_parts_waiting")).toBe("Parts of parted runs waiting at most");
    expect(label("set-default_max_run_minutes")).toBe("Parted run time limit (min, 0: none)");

    await card(wrapper, "Execution settings").find("form").trigger("submit");
    await vi.waitFor(() => expect(sent.some((s) => s.method === "PUT")).toBe(true));
    const put = sent.find((s) => s.method === "PUT")!;
    expect(put.path).toBe("/api/settings");
    expect(put.body).toEqual(settings);
    await vi.waitFor(() => expect((wrapper.find("#set-user_max_task_runs").element as HTMLInputElement).value).toBe("7"));
    wrapper.unmount();
  });
});
