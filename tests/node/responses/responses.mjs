// Streams a response and continues a conversation with the official openai Node SDK.
// Usage: ENTITIES_BASE_URL=http://127.0.0.1:8000/v1 ENTITIES_API_KEY=… MODEL=demo/echo node responses.mjs
// Prints one JSON line of what it saw; responses_api/tests/test_node_sdk.py checks it.
import OpenAI from "openai";

const client = new OpenAI({ baseURL: process.env.ENTITIES_BASE_URL, apiKey: process.env.ENTITIES_API_KEY,
                            maxRetries: 0, timeout: 30_000 });
const model = process.env.MODEL || "demo/echo";

const types = [];
const deltas = [];
const sequence = [];
const stream = client.responses.stream({ model, input: "Say hello", instructions: "Be brief." });
stream.on("response.output_text.delta", (event) => deltas.push(event.delta));
for await (const event of stream) {
  types.push(event.type);
  sequence.push(event.sequence_number);
}
const streamed = await stream.finalResponse();

const conversation = await client.conversations.create({ metadata: { from: "node" } });
const first = await client.responses.create({ model, input: "My name is Node", conversation: conversation.id });
const second = await client.responses.create({ model, input: "What is my name?", conversation: conversation.id });
const items = await client.conversations.items.list(conversation.id, { order: "asc" });

console.log(JSON.stringify({
  types, sequence, deltas, streamedText: streamed.output_text, streamedId: streamed.id,
  conversation: conversation.id, firstText: first.output_text, secondText: second.output_text,
  secondConversation: second.conversation?.id,
  items: items.data.map((item) => [item.role, item.content[0].text]),
}));
