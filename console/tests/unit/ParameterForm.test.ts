import { describe, expect, it } from "vitest";
import { flushPromises, mount } from "@vue/test-utils";
import { defineComponent, h, nextTick, reactive } from "vue";
import { ElForm } from "element-plus";
import ParameterForm from "@/components/ParameterForm.vue";
import { ApiProblem } from "@/api";
import { buildParameters, initialState, type ParameterView } from "@/logic/parameters";
import { setLocale } from "@/i18n";

const parameters: ParameterView[] = [
  { name: "symbol", type: "string", required: true, default_value: null, description: "股票代码", format: null, allowed: null },
  { name: "period", type: "string", required: false, default_value: "daily", description: null, format: null, allowed: ["daily", "weekly"] },
  { name: "start_date", type: "date", required: false, default_value: "today-30d", description: null, format: "yyyyMMdd", allowed: null },
  { name: "adjust", type: "string", required: false, default_value: "", description: null, format: null, allowed: ["", "qfq"] },
  { name: "full", type: "bool", required: false, default_value: null, description: null, format: null, allowed: null },
];

async function render(problem: ApiProblem | null = null) {
  setLocale("en");
  const state = reactive(initialState(parameters));
  // As the views use it: inside a form, which shows a field's error message.
  const Host = defineComponent(() => () => h(ElForm, null, () => h(ParameterForm, { parameters, state, problem })));
  const wrapper = mount(Host, { attachTo: document.body });
  // Element Plus gives inputs their ids and form items their errors once mounted.
  await flushPromises();
  const item = (name: string) => wrapper.findAll(".el-form-item").find((i) => i.find(".el-form-item__label").text() === name)!;
  return { wrapper, state, item };
}

describe("the parameter form", () => {
  it("has one labelled field per parameter, typed by the parameter", async () => {
    const { item } = await render();
    expect(item("symbol").find("#param-symbol-value").attributes("aria-label")).toBe("symbol");
    expect(item("symbol").classes()).toContain("is-required");
    expect(item("period").classes()).not.toContain("is-required");
    expect(item("period").find(".el-select").exists()).toBe(true);
    expect(item("full").find(".el-switch").exists()).toBe(true);
    expect(item("start_date").find("#param-start_date-value").attributes("placeholder")).toBe("yyyyMMdd");
    expect(item("start_date").text()).toContain("default: today-30d");
    expect(item("start_date").text()).toContain("format yyyyMMdd");
    expect(item("start_date").text()).toContain("relative");
    expect(item("adjust").text()).toContain("default: (empty string)");
  });

  it("starts at the defaults, a relative date as written", async () => {
    const { item } = await render();
    expect((item("start_date").find("#param-start_date-value").element as HTMLInputElement).value).toBe("today-30d");
  });

  it("offers the sources a parameter's type may take", async () => {
    const { item } = await render();
    const kinds = (name: string) => item(name).findAll(".el-radio-button").map((b) => b.text());
    expect(kinds("symbol")).toEqual(["One value", "List of values", "From a table"]);
    expect(kinds("start_date")).toEqual(["One value", "List of values", "Since last (incremental)"]);
    expect(kinds("full")).toEqual([]);
  });

  it("switches a parameter to a list and sends its values", async () => {
    const { item, state } = await render();
    await item("symbol").findAll(".el-radio-button input")[1]!.setValue(true);
    await nextTick();
    const list = item("symbol").find("textarea");
    expect(list.attributes("aria-label")).toBe("symbol: List of values");
    await list.setValue("000001\n600519");
    expect(buildParameters(parameters, state)).toEqual({ symbol: { values: ["000001", "600519"] } });
  });

  it("a table source has its table, column and filter fields", async () => {
    const { item } = await render();
    await item("symbol").findAll(".el-radio-button input")[2]!.setValue(true);
    await nextTick();
    const labels = item("symbol").findAll("input").map((i) => i.attributes("aria-label"));
    expect(labels).toEqual(expect.arrayContaining(["symbol: Table", "symbol: Column", "symbol: Filter"]));
  });

  it("shows the API's 422 beside the parameter it names, a listed value's too", async () => {
    const problem = new ApiProblem(422, 3001, "invalid parameters", [
      { field: "parameters.symbol[1]", message: "contains \" which AKTools cannot pass" },
      { field: "parameters.period", message: "must be one of: daily, weekly" },
    ]);
    const { item } = await render(problem);
    expect(item("symbol").find(".el-form-item__error").text()).toBe('contains " which AKTools cannot pass');
    expect(item("period").find(".el-form-item__error").text()).toBe("must be one of: daily, weekly");
    expect(item("start_date").find(".el-form-item__error").exists()).toBe(false);
  });
});
