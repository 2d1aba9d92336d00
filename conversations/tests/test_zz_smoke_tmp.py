import time, httpx
def test_it(live_entities, sdk, alice):
    a = sdk.beta.assistants.create(model="demo/echo", name="x")
    print(a)
    t = sdk.beta.threads.create(messages=[{"role":"user","content":"hello"}])
    r = sdk.beta.threads.runs.create_and_poll(thread_id=t.id, assistant_id=a.id)
    print(r.status, r.usage)
    print([m.content for m in sdk.beta.threads.messages.list(t.id)])
    print(list(sdk.beta.threads.runs.steps.list(run_id=r.id, thread_id=t.id)))
    print(httpx.get(live_entities.v1 + "/models", headers=alice.headers).json())
    print(httpx.get(live_entities.v1 + "/openapi.json").status_code)
