import { ElMessageBox } from "element-plus";
import "element-plus/es/components/message-box/style/css";
import { messages } from "./i18n";

/**
 * Asks before deleting; rejects with "cancel" or "close" when the person thinks better of it. Apart from the
 * composables, which sign-in loads, so the first view carries no message box.
 */
export async function confirmDelete(question: string): Promise<void> {
  await ElMessageBox.confirm(question, messages.value.app.delete, {
    confirmButtonText: messages.value.app.delete,
    cancelButtonText: messages.value.app.cancel,
    type: "warning",
  });
}
