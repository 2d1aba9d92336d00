from conversations.tests.engine_support import *  # noqa
from testsupport.scenarios import Reply

def test_it_smokes(live_entities, sdk, cloud):
    cloud.push(Reply(["Hel", "lo"], usage=(7, 2)))
    a = sdk.beta.assistants.create(model="cloud/fake-model", instructions="Be nice.")
    t = sdk.beta.threads.create(messages=[{"role": "user", "content": "hi"}])
    run = sdk.beta.threads.runs.create_and_poll(thread_id=t.id, assistant_id=a.id, poll_interval_ms=20)
    print(run)
    msgs = sdk.beta.threads.messages.list(thread_id=t.id, order="asc")
    print([text_of(m) for m in msgs.data])
    print(cloud.requests)
    assert run.status == "completed"
