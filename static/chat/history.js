// The history loader: a thread's snapshot, as the server builds it (GET /ui/threads/<id>/history,
// conversations/selectors.py `thread_chat_history`), turned into the transcript items that the
// live run events build (items.js). Pure: no DOM, no I/O.
//
// The server decides what the conversation is: the order of its entries, and which runs a
// regenerate replaced (`superseded`: left out here). This module only changes shapes.

import { mediaOf, messagePart, runItem, stepPart, textOf, userItem, withRun } from "./items.js";

const withMedia = (part, content) => {
  const media = mediaOf(content);
  return media ? { ...part, media } : part;
};

function runItemOf(entry) {
  const messages = entry.messages || [];
  const run = entry.run;
  const id = run ? run.id : `orphan-${messages[0].id}`;
  const pending = new Map(messages.map((message) => [message.id, message]));
  const parts = [];
  // The steps give the order of tool calls and reply messages; a run without tools has none.
  for (const step of entry.steps || []) {
    if (step.type === "tool_calls") {
      parts.push(stepPart(step.id, (step.step_details && step.step_details.tool_calls) || [], step.status));
      continue;
    }
    const messageId = step.step_details && step.step_details.message_creation && step.step_details.message_creation.message_id;
    const message = pending.get(messageId);
    if (!message) continue;
    parts.push(withMedia(messagePart(message.id, textOf(message.content), message.status), message.content));
    pending.delete(messageId);
  }
  for (const message of pending.values()) parts.push(messagePart(message.id, textOf(message.content), message.status));
  const item = { ...runItem(id, { assistantId: run ? run.assistant_id : messages[0].assistant_id }), parts };
  // A message added without a run (through the API) shows as a finished reply.
  return withRun(item, run || { id, status: "completed", assistant_id: messages[0].assistant_id, model: null, last_error: null });
}

// The alternatives at an entry's place (edits of a user message, regenerates of a reply):
// `{ids, index}`, kept on the item only when there is more than one.
function withVersions(item, entry) {
  const versions = entry.versions;
  return versions && versions.ids && versions.ids.length > 1 ? { ...item, versions: { ids: versions.ids, index: versions.index } } : item;
}

/** `{items, hasMore, before}` from a snapshot `{items: [{type: "user", message, versions} |
 * {type: "run", run, messages, steps, versions}], has_more, before}` (`before`: the cursor of the earlier page). */
export function loadHistory(snapshot) {
  const items = [];
  for (const entry of (snapshot && snapshot.items) || []) {
    if (entry.type === "user") {
      const message = entry.message;
      items.push(withVersions(userItem({ id: message.id, text: textOf(message.content), createdAt: message.created_at,
                                         images: (mediaOf(message.content) || { images: [] }).images }), entry));
    } else if (entry.type === "run" && !entry.superseded && (entry.run || (entry.messages || []).length)) {
      items.push(withVersions(runItemOf(entry), entry));
    }
  }
  return { items, hasMore: !!(snapshot && snapshot.has_more), before: (snapshot && snapshot.before) || null };
}
