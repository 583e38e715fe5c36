import { describe, expect, it } from "vitest";
import { defineComponent, h, nextTick } from "vue";
import { flushPromises, mount } from "@vue/test-utils";
import { usePagedList } from "@/composables";

type Row = { id: number; status: string };

/** A list whose requests the test answers by hand, in any order. */
function listWithHandAnsweredRequests() {
  const pending: Array<{ filter: string; answer: (rows: Row[]) => void }> = [];
  let filter = "";
  let list!: ReturnType<typeof usePagedList<Row>>;
  const view = defineComponent({
    setup() {
      list = usePagedList<Row>((_page, _size) => {
        const asked = filter;
        return new Promise((resolve) => pending.push({ filter: asked, answer: (rows) => resolve({ items: rows, total: rows.length }) }));
      });
      return () => h("div");
    },
  });
  mount(view);
  return { pending, list: () => list, setFilter: (f: string) => (filter = f) };
}

describe("a paged list", () => {
  it("shows the newest request's answer even when an older one (a poll sent before the filter changed) answers last", async () => {
    const { pending, list, setFilter } = listWithHandAnsweredRequests();
    await nextTick();
    pending.shift()!.answer([{ id: 1, status: "running" }, { id: 2, status: "failed" }]);
    await flushPromises();

    const poll = list().load(); // sent with no filter, still on its way
    setFilter("failed");
    list().reload(); // the filter changed
    const [unfiltered, filtered] = [pending[0]!, pending[1]!];
    expect([unfiltered.filter, filtered.filter]).toEqual(["", "failed"]);
    filtered.answer([{ id: 2, status: "failed" }]);
    await flushPromises();
    unfiltered.answer([{ id: 1, status: "running" }, { id: 2, status: "failed" }, { id: 3, status: "completed" }]);
    await poll;
    await flushPromises();

    expect(list().items.value.map((r) => r.status)).toEqual(["failed"]);
    expect(list().total.value).toBe(1);
    expect(list().loading.value).toBe(false);
  });
});
